"""yaral_check.py FILE... — parse YARA-L 2.0 with the tree-sitter grammar.

Exit 1 if any tree has an ERROR or MISSING node (positions are coarse).
"""
import sys
import warnings

import tree_sitter_yaral
from tree_sitter import Language, Parser

warnings.simplefilter("ignore", DeprecationWarning)
parser = Parser(Language(tree_sitter_yaral.language()))


def problems(node, out):
    if node.type == "ERROR" or node.is_missing:
        out.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.type}{' (missing)' if node.is_missing else ''}: {node.text[:60]!r}")
    for c in node.children:
        problems(c, out)
    return out


bad = 0
for path in sys.argv[1:]:
    tree = parser.parse(open(path, "rb").read())
    if tree.root_node.has_error:
        for p in problems(tree.root_node, []) or ["has_error"]:
            print(f"{path}:{p}")
        bad += 1
print(f"yaral: {len(sys.argv) - 1} files, {bad} with errors")
sys.exit(1 if bad else 0)
