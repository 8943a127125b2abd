// kql-check.js — usage: node kql-check.js <schema-dir | -> <file.kql>...
// Parses and analyzes each file with Microsoft's Kusto.Language
// (@kusto/language-service-next) against the table schemas; prints every
// diagnostic and exits 1 if any has severity Error. Adapted from
// ../shared/docs/VALIDATORS.md.
'use strict';
const fs = require('fs');
const path = require('path');
const pkg = path.dirname(require.resolve('@kusto/language-service-next/package.json', { paths: [__dirname] }));
require(path.join(pkg, 'bridge.js'));
require(path.join(pkg, 'Kusto.Language.Bridge.js'));
const K = global.Kusto.Language;

const [schemaDir, ...files] = process.argv.slice(2);
if (!schemaDir || files.length === 0) {
  console.error('usage: node kql-check.js <schema-dir | -> <file.kql>...');
  process.exit(2);
}
let globals = K.GlobalState.Default;
if (schemaDir !== '-') {
  const tables = fs.readdirSync(schemaDir).filter((f) => f.endsWith('.json')).map((f) => {
    const t = JSON.parse(fs.readFileSync(path.join(schemaDir, f), 'utf8'));
    const cols = t.Properties.map((c) => `['${c.Name}']:${c.Type.toLowerCase()}`).join(', ');
    return new K.Symbols.TableSymbol.$ctor7(t.Name, `(${cols})`, null);
  });
  globals = globals.WithDatabase(new K.Symbols.DatabaseSymbol.$ctor2('db', null, tables));
}
let errors = 0;
for (const f of files) {
  const diags = K.KustoCode.ParseAndAnalyze(fs.readFileSync(f, 'utf8'), globals).GetDiagnostics();
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    console.log(`${f}: ${d.Severity} ${d.Code} @${d.Start}+${d.Length}: ${d.Message}`);
    if (d.Severity === 'Error') errors++;
  }
}
console.log(`kql: ${files.length} files, ${errors} errors`);
process.exit(errors ? 1 : 0);
