#!/usr/bin/env node
// Checks that the grammar tests assert every Prism keyword and operator at least once.
//
// vscode-tmgrammar-test checks the assertions that exist; this script checks that the
// assertions we promise exist: for each (text, scope) pair below there must be a positive
// assertion in tests/*.test.prism whose caret range covers exactly that text in the source
// line above it and which requires that scope. It also prints how many assertions there are.
'use strict';

const fs = require('fs');
const path = require('path');

const testsDir = path.join(__dirname, '..', 'tests');

const keyword = (text, scope) => ({ kind: 'keyword', text, scope: `${scope}.prism` });
const operator = (text, scope) => ({ kind: 'operator', text, scope: `${scope}.prism` });
const confidence = (text, name) =>
  operator(text, `keyword.operator.confidence.${name}`);

const REQUIRED = [
  keyword('let', 'storage.type'),
  keyword('const', 'storage.type'),
  keyword('var', 'storage.type'),
  keyword('function', 'storage.type.function'),
  keyword('async', 'storage.modifier.async'),
  keyword('await', 'keyword.control.await'),
  keyword('return', 'keyword.control.flow'),
  keyword('if', 'keyword.control.conditional'),
  keyword('else', 'keyword.control.conditional'),
  keyword('for', 'keyword.control.loop'),
  keyword('while', 'keyword.control.loop'),
  keyword('do', 'keyword.control.loop'),
  keyword('break', 'keyword.control.flow'),
  keyword('continue', 'keyword.control.flow'),
  keyword('in', 'keyword.operator.expression.in'),
  keyword('of', 'keyword.operator.expression.of'),
  keyword('uncertain', 'keyword.control.uncertain'),
  keyword('high', 'keyword.control.confidence-branch'),
  keyword('medium', 'keyword.control.confidence-branch'),
  keyword('low', 'keyword.control.confidence-branch'),
  keyword('default', 'keyword.control.confidence-branch'),
  keyword('default', 'keyword.control.default'),
  keyword('match', 'keyword.control.match'),
  keyword('try', 'keyword.control.trycatch'),
  keyword('catch', 'keyword.control.trycatch'),
  keyword('finally', 'keyword.control.trycatch'),
  keyword('throw', 'keyword.control.trycatch'),
  keyword('import', 'keyword.control.import'),
  keyword('export', 'keyword.control.export'),
  keyword('from', 'keyword.control.from'),
  keyword('as', 'keyword.control.as'),
  keyword('typeof', 'keyword.operator.expression.typeof'),
  keyword('instanceof', 'keyword.operator.expression.instanceof'),
  keyword('true', 'constant.language.boolean.true'),
  keyword('false', 'constant.language.boolean.false'),
  keyword('null', 'constant.language.null'),
  keyword('undefined', 'constant.language.undefined'),
  keyword('context', 'keyword.other.context'),
  keyword('agents', 'keyword.other.agents'),

  confidence('~||>', 'parallel'),
  confidence('~>=', 'greater-equal'),
  confidence('~<=', 'less-equal'),
  confidence('~==', 'equal'),
  confidence('~!=', 'not-equal'),
  confidence('~&&', 'and'),
  confidence('~||', 'or'),
  confidence('~??', 'coalesce'),
  confidence('~?>', 'threshold'),
  confidence('~@>', 'gate'),
  confidence('~|>', 'pipeline'),
  confidence('~~', 'chain'),
  confidence('~+', 'plus'),
  confidence('~-', 'minus'),
  confidence('~*', 'times'),
  confidence('~/', 'divide'),
  confidence('~<', 'less'),
  confidence('~.', 'accessor'),
  confidence('~?', 'ternary'),
  confidence('~>', 'attach'),
  confidence('<~', 'extract'),
  confidence('~', 'identity'),

  operator('===', 'keyword.operator.comparison'),
  operator('!==', 'keyword.operator.comparison'),
  operator('==', 'keyword.operator.comparison'),
  operator('!=', 'keyword.operator.comparison'),
  operator('<=', 'keyword.operator.relational'),
  operator('>=', 'keyword.operator.relational'),
  operator('<', 'keyword.operator.relational'),
  operator('>', 'keyword.operator.relational'),
  operator('&&', 'keyword.operator.logical'),
  operator('||', 'keyword.operator.logical'),
  operator('!', 'keyword.operator.logical'),
  operator('??', 'keyword.operator.logical.nullish'),
  operator('?.', 'punctuation.accessor.optional'),
  operator('?', 'keyword.operator.ternary'),
  operator('|>', 'keyword.operator.pipeline'),
  operator('=>', 'storage.type.function.arrow'),
  operator('...', 'keyword.operator.spread'),
  operator('**', 'keyword.operator.arithmetic'),
  operator('*', 'keyword.operator.arithmetic'),
  operator('/', 'keyword.operator.arithmetic'),
  operator('%', 'keyword.operator.arithmetic'),
  operator('+', 'keyword.operator.arithmetic'),
  operator('-', 'keyword.operator.arithmetic'),
  operator('++', 'keyword.operator.increment'),
  operator('--', 'keyword.operator.decrement'),
  operator('=', 'keyword.operator.assignment'),
  operator('+=', 'keyword.operator.assignment.compound'),
  operator('-=', 'keyword.operator.assignment.compound'),
  operator('*=', 'keyword.operator.assignment.compound'),
  operator('/=', 'keyword.operator.assignment.compound'),
  operator('%=', 'keyword.operator.assignment.compound'),
  operator('**=', 'keyword.operator.assignment.compound'),
  operator('??=', 'keyword.operator.assignment.compound'),
  operator('&&=', 'keyword.operator.assignment.compound'),
  operator('||=', 'keyword.operator.assignment.compound'),
];

const HEADER = /^(\S+)\s+SYNTAX\s+TEST\s+"([^"]+)"/;
const UP = /^\s*((?:\^+\s*)+)((?:\s*\w[-\w.]*)*)(?:\s*-)?((?:\s*\w[-\w.]*)*)\s*$/;
const LEFT = /^(\s*)<(~*)(-+)((?:\s*\w[-\w.]*)*)(?:\s*-)?((?:\s*\w[-\w.]*)*)\s*$/;

/** Parses a test file the way vscode-tmgrammar-test does; returns its assertions. */
function parse(file) {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  const header = HEADER.exec(lines[0]);
  if (!header) throw new Error(`${file}: missing SYNTAX TEST header`);
  const token = header[1];
  const assertions = [];
  let source = null;
  lines.slice(1).forEach((line, i) => {
    const rest = line.slice(token.length);
    const isAssertion = line.startsWith(token) && /^\s*(\^|<~*-+)/.test(rest);
    if (!isAssertion) {
      source = line;
      return;
    }
    const at = `${path.basename(file)}:${i + 2}`;
    const scopes = (s) => (s || '').split(/\s+/).filter(Boolean);
    const up = UP.exec(rest);
    if (up) {
      for (const m of rest.matchAll(/\^+/g)) {
        const from = token.length + m.index;
        const to = from + m[0].length;
        assertions.push({ at, source, from, to, scopes: scopes(up[2]) });
      }
      return;
    }
    const left = LEFT.exec(rest);
    if (left) {
      const from = left[2].length;
      assertions.push({ at, source, from, to: from + left[3].length, scopes: scopes(left[4]) });
    }
  });
  return assertions;
}

const files = fs
  .readdirSync(testsDir)
  .filter((f) => f.endsWith('.test.prism'))
  .map((f) => path.join(testsDir, f));
const assertions = files.flatMap(parse);

const missing = REQUIRED.filter(
  ({ text, scope }) =>
    !assertions.some(
      (a) => a.source !== null && a.source.slice(a.from, a.to) === text && a.scopes.includes(scope),
    ),
);

const count = (kind) => REQUIRED.filter((r) => r.kind === kind).length;
const covered = (kind) => count(kind) - missing.filter((r) => r.kind === kind).length;
console.log(
  `${assertions.length} assertions in ${files.length} files; ` +
    `keywords asserted: ${covered('keyword')}/${count('keyword')}, ` +
    `operators asserted: ${covered('operator')}/${count('operator')}`,
);
if (missing.length) {
  for (const { kind, text, scope } of missing) {
    console.error(`  no assertion of ${kind} \`${text}\` with scope ${scope}`);
  }
  process.exit(1);
}
