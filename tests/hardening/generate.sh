#!/bin/sh
# Writes the large hardening reproducers of issue 18 (too big or too repetitive to keep in the
# repository) into a folder: ./generate.sh [OUT]  (default: ./generated). POSIX sh and awk only.
# Each file is described in README.md; the names say what they trigger on main.
set -eu
out=${1:-generated}
mkdir -p "$out"

# rep TEXT N: TEXT written N times (no newline).
rep() { awk -v s="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'; }
# nest NAME PREFIX OPEN MIDDLE CLOSE N: PREFIX, OPEN×N, MIDDLE, CLOSE×N, newline.
nest() {
  { printf '%s' "$2"; rep "$3" "$6"; printf '%s' "$4"; rep "$5" "$6"; echo; } >"$out/$1"
}
N=100000
NL='
'

# -- A diagnostic or label at column/width 65,536 makes miette panic ("Formatting argument
#    out of range"); 65,535 is drawn normally.
{ rep ' ' 65536; echo ')'; } >"$out/diagnostic_column_65536.prism"
{ rep ' ' 65535; echo ')'; } >"$out/diagnostic_column_65535_ok.prism"
{ echo 'let a = null'; rep ' ' 65536; echo 'a.b'; } >"$out/runtime_error_column_65536.prism"
{ printf 'name: p\ninput: {}\n'; rep k 65536; printf ': 1\noutput: 1\n'; } >"$out/yaml_key_65536_chars.yaml"
{ printf 'print('; rep '(' $N; echo; } >"$out/label_width_print_parens_100k.prism"

# -- Deep nesting, 100,000 levels of each construct (closed unless the name says open).
nest nest_array_100k.prism 'let x = ' '[' '' ']' $N
nest nest_array_open_100k.prism 'let x = ' '[' '' '' $N
nest nest_object_100k.prism 'let x = ' '{a:' '1' '}' $N
nest deep_unclosed_array_of_objects.prism 'let x = ' '[{a:[' '' '' $N
nest nest_parens_100k.prism 'let x = ' '(' '1' ')' $N
nest nest_calls_100k.prism "function f(a) { return a }${NL}let x = " 'f(' '1' ')' $N
nest nest_blocks_100k.prism '' '{' '' '}' $N
nest nest_if_100k.prism "let x = true$NL" 'if (x) {' '' '}' $N
nest nest_if_open_100k.prism "let x = true$NL" 'if (x) {' '' '' $N
nest else_if_chain_100k.prism "let x = false$NL" 'if (x) {} else ' '{}' '' $N
nest nest_uncertain_if_100k.prism "let x = true ~> 0.9$NL" 'uncertain if (x) { high {' '' '} }' $N
nest nest_functions_100k.prism '' 'function f() {' '' '}' $N
nest nest_functions_open_100k.prism '' 'function f() {' '' '' $N
{ printf 'let x = 1\nlet y = match x {\n  _ => {\n'; rep 'function f() {\n' $N; } >"$out/nested_functions_in_match.prism"
nest nest_template_100k.prism 'let x = ' '`${' '1' '}`' $N
nest nested_template_literals_4400.prism 'let x = ' '`${' '1' '}`' 4400
nest nest_arrows_100k.prism 'let f = ' 'x => ' '1' '' $N
nest nest_spread_100k.prism 'let x = ' '[...' '[]' ']' $N
nest nest_unary_minus_100k.prism 'let x = ' '- ' '1' '' $N
nest nest_unary_not_100k.prism 'let x = ' '!' 'true' '' $N
nest chain_member_100k.prism "let a = {}${NL}let x = a" '' '' '.b' $N
nest chain_index_100k.prism "let a = []${NL}let x = a" '' '' '[0]' $N
nest chain_assignment_100k.prism "let a = 0$NL" 'a = ' '1' '' $N
{ printf 'let x = '; rep '1 + ' 1000000; printf '1\nprint(x)\n'; } >"$out/sum_1m_terms.prism"
{ echo 'print(1)'; rep '[' 22619; printf 'x'; rep ']' 22619; echo; } >"$out/nest_array_22619_after_statement.prism"

# -- Error recovery and diagnostics that grow faster than the input.
{ printf 'print('; rep '-' $N; echo '1)'; } >"$out/print_minus_100k.prism"
{ echo 'let x = true'; rep 'if (x) {' 4000; printf 'zz (x) {'; rep 'if (x) {' 4000; echo; } >"$out/recovery_nested_blocks.prism"
{ printf 'let a = 1\nprint(a'; rep ' + x' 4000; echo ')'; } >"$out/undefined_names_on_one_line.prism"

# -- Large literals and pattern files.
{ printf 'let a = ['; rep '1, ' 80000; printf '1]\nprint(a.length)\n'; } >"$out/array_literal_80k.prism"
{ printf 'let a = ['; rep '1,' 5000000; printf '1]\nprint(a.length)\n'; } >"$out/array_literal_one_line_10mb.prism"
for n in 50000 100000; do
  { printf 'name: keys\ninput: {}\noutput:\n'; awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "  k%d: 1\n", i }'; } \
    >"$out/yaml_mapping_$((n / 1000))k_keys.yaml"
done
{ printf 'name: steps\ninput: {}\nsteps:\n'; awk 'BEGIN { for (i = 0; i < 20000; i++) printf "  - id: s%d\n    agents: {min: 1}\n", i }'; echo 'output: $s19999'; } \
  >"$out/yaml_20k_steps.yaml"

# -- A FIFO nobody writes to.
rm -f "$out/fifo.prism"
mkfifo "$out/fifo.prism"
