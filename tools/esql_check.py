"""esql_check.py FILE... — parse ES|QL with Elastic's ANTLR grammar (esql-parser).

Exit 1 on any syntax error. A file ending in .ndjson is read as Elastic
detection rules and each rule's `query` is checked. Adapted from
../shared/docs/VALIDATORS.md.
"""
import json
import sys

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from esql_parser.EsqlBaseLexer import EsqlBaseLexer
from esql_parser.EsqlBaseParser import EsqlBaseParser


class Errors(ErrorListener):
    def __init__(self):
        self.found = []

    def syntaxError(self, recognizer, symbol, line, column, msg, exc):
        self.found.append(f"{line}:{column} {msg}")


def check(text):
    errs = Errors()
    lexer = EsqlBaseLexer(InputStream(text))
    parser = EsqlBaseParser(CommonTokenStream(lexer))
    for p in (lexer, parser):
        p.removeErrorListeners()
        p.addErrorListener(errs)
    parser.singleStatement()
    return errs.found


def queries(path):
    text = open(path, encoding="utf-8").read()
    if path.endswith(".ndjson"):
        for i, line in enumerate(l for l in text.splitlines() if l.strip()):
            yield f"{path}#{i + 1}", json.loads(line)["query"]
    else:
        yield path, text


bad = 0
n = 0
for path in sys.argv[1:]:
    for name, q in queries(path):
        n += 1
        for e in check(q):
            print(f"{name}:{e}")
            bad += 1
print(f"esql: {n} queries, {bad} errors")
sys.exit(1 if bad else 0)
