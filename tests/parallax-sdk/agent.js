// A Parallax agent written with the official TypeScript SDK, started by Prism's tests
// (tests/integration/parallax.rs). One process is one agent:
//
//   node agent.js serve    --name N --port P            serves ConfidenceAgent on P
//   node agent.js register --name N --registry ADDR     serves on a free port, registers at ADDR
//   node agent.js gateway  --name N --gateway ADDR      connects to the agent gateway at ADDR
//
// Options: --answer VALUE (default: "positive" when the text says "great", else "negative"),
// --confidence C (0.8), --delay MS (0: how long each task takes), --capabilities a,b
// (sentiment). It prints `ready …` once it can take tasks and `task <description> <data>`
// when a task arrives, so a test knows when to stop it.
'use strict';

const { ParallaxAgent } = require('@parallaxai/sdk-typescript');

function options(argv) {
  const out = { mode: argv[0] };
  for (let i = 1; i < argv.length; i += 2) {
    out[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return out;
}

const opts = options(process.argv.slice(2));
const name = opts.name || 'sdk-agent';
const capabilities = (opts.capabilities || 'sentiment').split(',');
const confidence = Number(opts.confidence || '0.8');
const delay = Number(opts.delay || '0');

class TestAgent extends ParallaxAgent {
  async analyze(task, data) {
    console.log(`task ${JSON.stringify(task)} ${JSON.stringify(data)}`);
    if (delay > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const text = String((data && data.text) || '');
    const value = opts.answer || (text.includes('great') ? 'positive' : 'negative');
    return {
      value,
      confidence,
      reasoning: `${name} read "${text}"`,
      metadata: { via: opts.mode },
    };
  }
}

async function main() {
  const agent = new TestAgent(name, name, capabilities, { region: 'local' });
  if (opts.mode === 'serve') {
    // No registry for this one: it is reached at its own address (the SDK tries
    // `registryEndpoint` once and goes on serving when nothing answers there).
    const port = await agent.serve(Number(opts.port), { registryEndpoint: '127.0.0.1:1' });
    console.log(`ready serve ${port}`);
  } else if (opts.mode === 'register') {
    const port = await agent.serve(0, { registryEndpoint: opts.registry });
    console.log(`ready register ${port}`);
  } else if (opts.mode === 'gateway') {
    await agent.connectViaGateway(opts.gateway, { heartbeatIntervalMs: 1000 });
    console.log('ready gateway');
  } else {
    console.error(`unknown mode ${opts.mode}: serve, register or gateway`);
    process.exit(2);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
