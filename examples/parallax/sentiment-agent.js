// A sentiment agent written with Parallax's TypeScript SDK (@parallaxai/sdk-typescript), which
// answers Prism patterns over gRPC. It serves `parallax.confidence.ConfidenceAgent` on $PORT
// (default: a free port) and registers with the registry at $PARALLAX_REGISTRY (the SDK's
// default: localhost:50051) — `prism run … --registry 127.0.0.1:50051` serves one.
//
//   npm ci --prefix tests/parallax-sdk          # the SDK, once
//   NODE_PATH=tests/parallax-sdk/node_modules node examples/parallax/sentiment-agent.js
'use strict';

const { ParallaxAgent } = require('@parallaxai/sdk-typescript');

const POSITIVE = ['great', 'good', 'love', 'excellent', 'happy'];
const NEGATIVE = ['bad', 'awful', 'hate', 'terrible', 'sad'];

class SentimentAgent extends ParallaxAgent {
  async analyze(task, data) {
    const words = String((data && data.text) || '').toLowerCase().split(/\W+/);
    const pos = words.filter((w) => POSITIVE.includes(w)).length;
    const neg = words.filter((w) => NEGATIVE.includes(w)).length;
    if (pos === neg) {
      return { value: 'neutral', confidence: 0.5, reasoning: 'no clear sentiment words' };
    }
    const value = pos > neg ? 'positive' : 'negative';
    const confidence = Math.min(0.95, 0.6 + 0.15 * Math.abs(pos - neg));
    return { value, confidence, reasoning: `${pos} positive and ${neg} negative words` };
  }
}

const agent = new SentimentAgent('sentiment-js', 'sentiment-js', ['sentiment']);
agent.serve(Number(process.env.PORT || 0)).then((port) => {
  console.log(`sentiment-js serves ConfidenceAgent on port ${port}`);
});
