"""Runs the ONNX checker on rnnc's exported files (tests/test_onnx.c, tests/cli_onnx.sh).

usage: /usr/bin/python3 tools/onnx/check_model.py FILE.onnx...

For each file: onnx.load, onnx.checker.check_model(full_check=True) (the structure, every node
against its operator's schema at the file's opset, then strict shape inference), and the shapes
shape inference gives the graph's outputs, which must agree with the declared ones. Prints one line
a file; exits 1 if any fails. Needs Debian's python3-onnx (scripts/install-deps.sh).
"""
import sys

import onnx
from onnx import shape_inference


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    got = {o.name: dims(o) for o in inferred.graph.output}
    for o in model.graph.output:
        if got.get(o.name) != dims(o):
            raise ValueError(f"output {o.name}: declared {dims(o)}, inferred {got.get(o.name)}")
    ops = sorted({n.op_type for n in model.graph.node})
    opset = [f"{i.domain or 'ai.onnx'} {i.version}" for i in model.opset_import]
    return f"ir_version {model.ir_version}, opset {', '.join(opset)}, {len(model.graph.node)} nodes ({' '.join(ops)})"


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    failed = 0
    for path in sys.argv[1:]:
        try:
            print(f"ok   {path}: {check(path)}")
        except Exception as e:  # the checker's own exception types vary across onnx versions
            failed += 1
            print(f"FAIL {path}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")
    print(f"check_model: onnx {onnx.__version__}, {len(sys.argv) - 1} files, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
