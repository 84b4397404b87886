"""Writes the generated 5 MB Prism program of issue #14 (`prism check` throughput) to the file
named on the command line (default gen5mb.prism). `compiler/benches/check.rs` generates the same
text in Rust and measures each phase on it.

    python3 compiler/benches/gen_program.py /tmp/gen5mb.prism
    hyperfine -N -w1 -r5 'target/release/prism check /tmp/gen5mb.prism'
"""
import random
import sys
random.seed(1)
parts=[]; i=0; size=0
while size < 5*1024*1024:
    s=f'''// block {i}
function compute{i}(a, b = 2) {{
  let total = a * b + {i} ~> 0.8
  const label = "item-{i}"
  if (total > 100 ~&& <~total >= 0.5) {{
    total = total - 1
  }} else {{
    total += 2
  }}
  for (let k = 0; k < 3; k++) {{
    total = total + k
  }}
  let obj = {{name: label, value: total, tags: ["a", "b", {i}]}}
  uncertain if (total) {{
    high {{ return obj.value }}
    medium {{ return obj.value / 2 }}
    low {{ return null }}
  }}
  return [1, 2, 3].map(x => x * total).filter(x => x > 1)
}}
'''
    parts.append(s); size+=len(s); i+=1
open(sys.argv[1] if len(sys.argv) > 1 else 'gen5mb.prism', 'w').write(''.join(parts))
