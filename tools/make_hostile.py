#!/usr/bin/env python3
"""Crafts hostile input files for rnnc from small valid ones, and a manifest of what each must do.

Usage: make_hostile.py LM LM_BPE S2S RUN_DIR CLASSIFIER FORECASTER OUT_DIR

LM, LM_BPE and S2S are valid model files (a char-level LM, a BPE-level LM, a seq2seq model) and
RUN_DIR a finished LM run directory (with checkpoint.safetensors); tests/cli_hostile.sh makes
them with rnnc itself. Every case is one defect class that a crafted file once got past the
readers (issue 11): each is written to OUT_DIR and listed in OUT_DIR/cases.tsv as

    name <TAB> expected <TAB> rnnc arguments (TAB-separated; "<FILE" as the last one feeds stdin)

where `expected` is a piece of the one error line rnnc must print (exit status 1 or 2, no crash,
no sanitizer report), or "OK" for a file that is valid and must load. Standard library only.
"""
import base64
import json
import math
import os
import shutil
import struct
import sys


def st_read(path):
    """(header dict in file order, data bytes) of a safetensors file."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def st_bytes(header_text, data, pad=True, length=None):
    """A file from header text (a str, written as is) and data; padded with spaces to 8 bytes."""
    h = header_text.encode("utf-8")
    if pad:
        h += b" " * (-len(h) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def header_text(header):
    return json.dumps(header, separators=(",", ":"))


def tensors(header):
    return [(k, v) for k, v in header.items() if k != "__metadata__"]


def set_float(header, data, name, index, value):
    """data with element `index` of F32 tensor `name` replaced by value."""
    begin = header[name]["data_offsets"][0] + 4 * index
    return data[:begin] + struct.pack("<f", value) + data[begin + 4:]


class Cases:
    def __init__(self, out):
        self.out = out
        self.rows = []

    def file(self, name, content):
        path = os.path.join(self.out, name)
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def add(self, name, expected, *argv):
        assert "\t" not in expected and all("\t" not in a for a in argv)
        self.rows.append("\t".join((name, expected) + argv))

    def write(self):
        with open(os.path.join(self.out, "cases.tsv"), "w") as f:
            f.write("\n".join(self.rows) + "\n")


def lm_cases(c, lm, lm_bpe, data_txt, ids_txt):
    hdr, data = st_read(lm)
    meta = hdr["__metadata__"]
    names = [k for k, _ in tensors(hdr)]
    first = min(tensors(hdr), key=lambda kv: kv[1]["data_offsets"][0])[0]

    def model(name, text, dat, **kw):
        return c.file(name + ".safetensors", st_bytes(text, dat, **kw))

    def refused(name, expected, text, dat, **kw):
        """One model file, read by the commands that load an LM."""
        path = model(name, text, dat, **kw)
        c.add(name + "/info", expected, "info", path)
        c.add(name + "/eval", expected, "eval", "--model", path, "--data", data_txt)
        c.add(name + "/sample", expected, "sample", "--model", path, "-n", "5")
        c.add(name + "/export", expected, "export", path, "-o", os.path.join(c.out, "refused.onnx"))

    # the valid file itself loads (the suite's control)
    c.add("lm_valid/info", "OK", "info", lm)
    c.add("lm_valid/export", "OK", "export", lm, "-o", os.path.join(c.out, "lm_valid.onnx"))
    c.add("lm_valid/eval", "OK", "eval", "--model", lm, "--data", data_txt)

    # 3. the tensors must tile the data area exactly
    text = header_text(hdr)
    h = text.encode() + b" " * 12
    h += b" " * (-len(h) % 8)
    refused("st_header_4_short", "trailing", h.decode(), data, pad=False, length=len(h) - 4)
    refused("st_trailing_bytes", "trailing", text, data + b"\0\0\0\0")
    gap = json.loads(text)
    for k, v in tensors(gap):
        if v["data_offsets"][0] > 0:
            v["data_offsets"] = [x + 4 for x in v["data_offsets"]]
    at = hdr[first]["data_offsets"][1]
    refused("st_gap", "gap", header_text(gap), data[:at] + b"\0" * 4 + data[at:])
    ov = json.loads(text)
    second = sorted(tensors(ov), key=lambda kv: kv[1]["data_offsets"][0])[1][0]
    ov[second]["data_offsets"] = [x - 4 for x in ov[second]["data_offsets"]]
    refused("st_overlap", "overlap", header_text(ov), data)
    refused("st_junk_after_json", "after the header", text + "xx", data)
    refused("st_header_not_object", "object", "[1,2,3]", data)
    refused("st_header_not_json", "JSON", "{\"a\":", data)
    refused("st_truncated", "truncated", text, data[:len(data) // 2])
    c.add("st_header_over_100mb/info", "100 MB", "info",
          c.file("st_header_over_100mb.safetensors", struct.pack("<Q", 200 << 20) + b"{}" + b" " * 6))
    c.add("st_empty_file/info", "not a safetensors file", "info", c.file("st_empty_file.safetensors", b""))
    # duplicate keys: cJSON keeps both, the first would win
    dup = text.replace('"__metadata__":{', '"__metadata__":{"rnnc.config":"{}",', 1)
    refused("st_dup_meta_key", "twice", dup, data)
    dup = text.replace('"dtype":"F32"', '"dtype":"F32","dtype":"F32"', 1)
    refused("st_dup_tensor_field", "twice", dup, data)
    dup = text[:-1] + "," + json.dumps(names[0]) + ":" + json.dumps(hdr[names[0]], separators=(",", ":")) + "}"
    refused("st_dup_tensor", "twice", dup, data)
    # 4. numbers that are no integers in range (casting them first was undefined behaviour)
    for label, raw in (("1e30", "1e30"), ("2p64", "18446744073709551616"), ("neg", "-4"), ("frac", "4.5"),
                       ("huge_float", "1.7976931348623157e308")):
        s = text.replace('"shape":[', '"shape":[' + raw + ",", 1)
        refused("st_shape_" + label, "shape", s, data)
        h2 = json.loads(text)
        s = header_text(h2).replace('"data_offsets":[0,', '"data_offsets":[' + raw + ",", 1)
        refused("st_offsets_" + label, "data_offsets", s, data)
    bad = json.loads(text)
    bad[names[0]]["dtype"] = "F33"
    refused("st_bad_dtype", "dtype", header_text(bad), data)
    bad = json.loads(text)
    bad[names[0]]["shape"] = bad[names[0]]["shape"] + [2]
    refused("st_shape_size_mismatch", "bytes", header_text(bad), data)
    bad = json.loads(text)
    bad["__metadata__"]["rnnc.extra"] = 5
    refused("st_meta_not_string", "not a string", header_text(bad).replace('"rnnc.extra":"5"', '"rnnc.extra":5'), data)
    # 200k zero-size tensors: the header parse must stay fast (no quadratic duplicate check)
    many = json.loads(text)
    end = len(data)
    for i in range(200000):
        many["z%06d" % i] = {"dtype": "F32", "shape": [0], "data_offsets": [end, end]}
    c.add("st_200k_tensors/info", "unexpected tensor", "info",
          model("st_200k_tensors", header_text(many), data))
    # a zero-size tensor at offset 0 beside a real one is legal: the LM refuses it for its name only
    z = json.loads(text)
    z["zero"] = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
    refused("st_zero_size_at_0", "unexpected tensor 'zero'", header_text(z), data)

    # non-finite weights, named
    for label, v in (("nan", float("nan")), ("inf", float("inf"))):
        refused("lm_" + label + "_weight", "head.weight", text, set_float(hdr, data, "head.weight", 3, v))

    # 2. a config that asks for a huge model: refused from the tensors' shapes, never allocated
    cfg = json.loads(meta["rnnc.config"])
    cfg.update(layers=64, hidden=16384)
    big = json.loads(text)
    big["__metadata__"]["rnnc.config"] = json.dumps(cfg)
    refused("lm_config_64x16384", "rnnc.config", header_text(big), data)
    for key, raw in (("vocab", "3e9"), ("hidden", "1e30"), ("layers", "-1"), ("embed", "2.5")):
        cfg = json.loads(meta["rnnc.config"])
        b2 = json.loads(text)
        b2["__metadata__"]["rnnc.config"] = json.dumps(cfg).replace('"%s": %d' % (key, cfg[key]), '"%s": %s' % (key, raw))
        refused("lm_config_%s_%s" % (key, raw), key, header_text(b2), data)

    # a tokenizer whose size disagrees with the model's vocabulary
    tok = json.loads(meta["rnnc.tokenizer"])
    tok["chars"] = tok["chars"][:-1]
    b2 = json.loads(text)
    b2["__metadata__"]["rnnc.tokenizer"] = json.dumps(tok)
    refused("lm_tokenizer_size", "vocab", header_text(b2), data)

    # 1. BPE special tokens that share an id or a text (a use-after-free once), and other specials
    bh, bdata = st_read(lm_bpe)
    btext = header_text(bh)
    btok = json.loads(bh["__metadata__"]["rnnc.tokenizer"])
    n_ranks = len(btok["ranks"])

    def bpe_model(name, expected, specials_json):
        t = dict(btok)
        t["special_tokens"] = "SPECIALS"
        tj = json.dumps(t).replace('"SPECIALS"', specials_json)
        b3 = json.loads(btext)
        b3["__metadata__"]["rnnc.tokenizer"] = tj
        path = c.file(name + ".safetensors", st_bytes(header_text(b3), bdata))
        c.add(name + "/info", expected, "info", path)
        c.add(name + "/eval", expected, "eval", "--model", path, "--data", data_txt)
        c.add(name + "/sample", expected, "sample", "--model", path, "-n", "3")

    bpe_model("bpe_specials_share_id", "share", '{"<|a|>": %d, "<|b|>": %d}' % (n_ranks, n_ranks))
    bpe_model("bpe_specials_share_text", "twice", '{"<|a|>": %d, "<|a|>": %d}' % (n_ranks, n_ranks + 1))
    bpe_model("bpe_special_nul", "NUL", '{"<|a\\u0000b|>": %d}' % n_ranks)
    bpe_model("bpe_special_id_2p32", "4294967295", '{"<|a|>": 4294967295}')
    bpe_model("bpe_special_id_1e30", "<|a|>", '{"<|a|>": 1e30}')

    # id files for eval --ids
    for label, content, expected in (("negative", "1 2 -3 4 5 6 7 8 9", "-3"), ("huge", "1 2 99999999999999999999 4 5 6 7 8",
                                     "99999999999999999999"), ("word", "1 2 x 4 5 6 7 8 9", "x"),
                                     ("vocab", "1 2 281 4 5 6 7 8 9", "281")):
        path = c.file("ids_" + label + ".txt", content + "\n")
        c.add("ids_" + label + "/eval", expected, "eval", "--model", lm, "--ids", path, "--batch", "1", "--seq", "4")


def run_dir_cases(c, run_dir):
    """Checkpoints whose options or progress hold numbers out of range (undefined casts once)."""
    ck_hdr, ck_data = st_read(os.path.join(run_dir, "checkpoint.safetensors"))
    meta = ck_hdr["__metadata__"]
    for label, key, field, raw in (("run_step_1e30", "rnnc.run", "step", "1e30"),
                                   ("run_loss_n_neg", "rnnc.run", "loss_n", "-1"),
                                   ("run_format_2p64", "rnnc.run", "format", "18446744073709551616"),
                                   ("opts_warmup_1e30", "rnnc.run.options", "warmup", "1e30"),
                                   ("opts_lr_inf", "rnnc.run.options", "lr", "1e999"),
                                   ("task_batch_1e30", "rnnc.task.options", "batch", "1e30"),
                                   ("task_seq_2p64", "rnnc.task.options", "seq", "18446744073709551616")):
        d = os.path.join(c.out, "ck_" + label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        j = json.loads(meta[key])
        old = '"%s":%s' % (field, json.dumps(j[field]))
        assert old in meta[key], old
        h = json.loads(header_text(ck_hdr))
        h["__metadata__"][key] = meta[key].replace(old, '"%s":%s' % (field, raw))
        with open(os.path.join(d, "checkpoint.safetensors"), "wb") as f:
            f.write(st_bytes(header_text(h), ck_data))
        c.add("ck_" + label + "/resume", field, "train", "--resume", d, "--steps", "1000000")
    d = os.path.join(c.out, "ck_run_dup_key")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    h = json.loads(header_text(ck_hdr))
    h["__metadata__"]["rnnc.run"] = meta["rnnc.run"].replace('"step":', '"step":0,"step":', 1)
    with open(os.path.join(d, "checkpoint.safetensors"), "wb") as f:
        f.write(st_bytes(header_text(h), ck_data))
    c.add("ck_run_dup_key/resume", "twice", "train", "--resume", d, "--steps", "1000000")
    # a checkpoint of the format before the run module: refused with the reason
    d = os.path.join(c.out, "ck_old_format")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    h = json.loads(header_text(ck_hdr))
    del h["__metadata__"]["rnnc.run"]
    h["__metadata__"]["rnnc.progress"] = '{"step":1}'
    with open(os.path.join(d, "checkpoint.safetensors"), "wb") as f:
        f.write(st_bytes(header_text(h), ck_data))
    c.add("ck_old_format/resume", "older rnnc", "train", "--resume", d, "--steps", "1000000")
    # the record of the data files (rnnc.run.inputs): one naming a device or a FIFO must not make
    # the resume read forever; malformed records are refused
    fifo = os.path.join(c.out, "inputs.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    for label, inputs, expected in (
            ("dev_zero", [{"path": "/dev/zero", "bytes": 1, "digest": "00"}], "not a regular file"),
            ("fifo", [{"path": fifo, "bytes": 1, "digest": "00"}], "not a regular file"),
            ("not_array", {"path": "x"}, "rnnc.run.inputs is not a JSON array"),
            ("no_digest", [{"path": "x", "bytes": 1}], "lacks its path, bytes or digest")):
        d = os.path.join(c.out, "ck_inputs_" + label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        h = json.loads(header_text(ck_hdr))
        h["__metadata__"]["rnnc.run.inputs"] = json.dumps(inputs)
        with open(os.path.join(d, "checkpoint.safetensors"), "wb") as f:
            f.write(st_bytes(header_text(h), ck_data))
        c.add("ck_inputs_" + label + "/resume", expected, "train", "--resume", d, "--steps", "1000000")
    # task options naming a device or a FIFO as the data: refused before the task opens it (a
    # FIFO would block in open, /dev/zero read until memory ran out)
    for label, path in (("dev_zero", "/dev/zero"), ("fifo", fifo)):
        d = os.path.join(c.out, "ck_data_" + label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        h = json.loads(header_text(ck_hdr))
        h["__metadata__"].pop("rnnc.run.inputs", None)
        t = json.loads(meta["rnnc.task.options"])
        t["data"] = [path]
        h["__metadata__"]["rnnc.task.options"] = json.dumps(t)
        with open(os.path.join(d, "checkpoint.safetensors"), "wb") as f:
            f.write(st_bytes(header_text(h), ck_data))
        c.add("ck_data_" + label + "/resume", "which is not a regular file", "train", "--resume", d, "--steps", "1000000")


def s2s_cases(c, s2s):
    hdr, data = st_read(s2s)
    text = header_text(hdr)
    meta = hdr["__metadata__"]

    def refused(name, expected, t, dat):
        path = c.file(name + ".safetensors", st_bytes(t, dat))
        c.add(name + "/translate", expected, "seq2seq", "translate", "--model", path, "<" + os.path.join(c.out, "src.txt"))
        c.add(name + "/export", expected, "export", path, "-o", os.path.join(c.out, "refused.onnx"))

    c.file("src.txt", "a b c\n")
    c.add("s2s_valid/translate", "OK", "seq2seq", "translate", "--model", s2s, "<" + os.path.join(c.out, "src.txt"))
    c.add("s2s_valid/export", "OK", "export", s2s, "-o", os.path.join(c.out, "s2s_valid.onnx"))
    cfg = meta["rnnc.seq2seq"]
    for key, raw in (("src_vocab", "3e9"), ("hidden", "1e30"), ("layers", "-2"), ("tgt_vocab", "18446744073709551616")):
        j = json.loads(cfg)
        old = '"%s":%s' % (key, json.dumps(j[key]))
        assert old in cfg, old
        h = json.loads(text)
        h["__metadata__"]["rnnc.seq2seq"] = cfg.replace(old, '"%s":%s' % (key, raw))
        refused("s2s_config_%s_%s" % (key, raw), key, header_text(h), data)
    j = json.loads(cfg)
    j.update(layers=64, hidden=16384)
    h = json.loads(text)
    h["__metadata__"]["rnnc.seq2seq"] = json.dumps(j, separators=(",", ":"))
    refused("s2s_config_64x16384", "rnnc.seq2seq", header_text(h), data)
    refused("s2s_nan_weight", "head.weight", text, set_float(hdr, data, "head.weight", 1, float("nan")))
    h = json.loads(text)
    h["__metadata__"]["rnnc.src_vocab"] = "a\na\nb\n"
    refused("s2s_vocab_dup_symbol", "twice", header_text(h), data)
    h = json.loads(text)
    h["__metadata__"]["rnnc.src_vocab"] = "a\nb\n"
    refused("s2s_vocab_size", "src_vocab", header_text(h), data)

    # data files: one huge line, a third column, NUL bytes
    big = c.file("tsv_huge_line.tsv", " ".join(["a"] * 500000) + "\tb\n")
    c.add("tsv_huge_line/eval", "--max-source", "seq2seq", "eval", "--model", s2s, "--data", big)
    c.add("tsv_huge_line/train", "--max-source", "seq2seq", "train", "--data", big, "--valid", big, "-o",
          os.path.join(c.out, "run_huge"), "--hidden", "8", "--embed", "4", "--steps", "1")
    three = c.file("tsv_three_columns.tsv", "a b\tb a\na\tb\tc\n")
    c.add("tsv_three_columns/eval", "tsv_three_columns.tsv:2", "seq2seq", "eval", "--model", s2s, "--data", three)
    nul = c.file("tsv_nul.tsv", "a b\tb a\na\0b\tb\n")
    c.add("tsv_nul/eval", "tsv_nul.tsv:2", "seq2seq", "eval", "--model", s2s, "--data", nul)


def seq_cases(c, cls, fc):
    """Classifier and forecaster files (seqmodel.h) with crafted configs, labels, vocabularies and
    series; each read by predict (classify) or eval (forecast)."""
    texts = c.file("texts.txt", "x y x\ny\n")

    def cls_refused(name, expected, t, dat):
        path = c.file(name + ".safetensors", st_bytes(t, dat))
        c.add(name + "/predict", expected, "classify", "predict", "--model", path, texts)

    hdr, data = st_read(cls)
    text = header_text(hdr)
    meta = hdr["__metadata__"]
    c.add("cls_valid/predict", "OK", "classify", "predict", "--model", cls, texts)
    cfg = meta["rnnc.seqmodel"]
    for key, raw in (("vocab", "3e9"), ("hidden", "1e30"), ("layers", "-2"), ("outputs", "18446744073709551616"),
                     ("embed", "0.5")):
        j = json.loads(cfg)
        old = '"%s":%s' % (key, json.dumps(j[key]))
        assert old in cfg, old
        h = json.loads(text)
        h["__metadata__"]["rnnc.seqmodel"] = cfg.replace(old, '"%s":%s' % (key, raw))
        cls_refused("cls_config_%s_%s" % (key, raw), key, header_text(h), data)
    j = json.loads(cfg)
    j.update(layers=64, hidden=16384)
    h = json.loads(text)
    h["__metadata__"]["rnnc.seqmodel"] = json.dumps(j, separators=(",", ":"))
    cls_refused("cls_config_64x16384", "rnnc.seqmodel", header_text(h), data)
    j = json.loads(cfg)
    j.update(task="forecast")
    h = json.loads(text)
    h["__metadata__"]["rnnc.seqmodel"] = json.dumps(j, separators=(",", ":"))
    cls_refused("cls_config_task_swapped", "forecast", header_text(h), data)
    cls_refused("cls_nan_weight", "head.weight", text, set_float(hdr, data, "head.weight", 1, float("nan")))
    cls_refused("cls_inf_embedding", "embedding.weight", text, set_float(hdr, data, "embedding.weight", 0, float("inf")))
    labels = meta["rnnc.labels"].split("\n")
    for name, value, expected in (("dup", "\n".join([labels[0]] * len(labels)), "twice"),
                                  ("short", labels[0], "rnnc.labels"),
                                  ("empty", "\n" * (len(labels) - 1), "empty"),
                                  ("long", "\n".join(labels + ["extra"]), "rnnc.labels")):
        h = json.loads(text)
        h["__metadata__"]["rnnc.labels"] = value
        cls_refused("cls_labels_" + name, expected, header_text(h), data)
    h = json.loads(text)
    h["__metadata__"]["rnnc.vocab"] = "x\n"
    cls_refused("cls_vocab_size", "rnnc.vocab gives", header_text(h), data)
    h = json.loads(text)
    del h["__metadata__"]["rnnc.vocab_kind"]
    cls_refused("cls_vocab_kind_missing", "rnnc.vocab_kind", header_text(h), data)

    series = c.file("series.csv", "y,k\n" + "".join("%d,%d\n" % (10 + (i % 7), i % 7) for i in range(60)))

    def fc_refused(name, expected, t, dat):
        path = c.file(name + ".safetensors", st_bytes(t, dat))
        c.add(name + "/eval", expected, "forecast", "eval", "--model", path, "--data", series)

    hdr, data = st_read(fc)
    text = header_text(hdr)
    c.add("fc_valid/eval", "OK", "forecast", "eval", "--model", fc, "--data", series)
    sr = json.loads(hdr["__metadata__"]["rnnc.series"])
    for name, change, expected in (("std_zero", lambda s: s["columns"][0].update(std=0), "std"),
                                   ("std_nan", lambda s: s["columns"][0].update(std="nan"), "std"),
                                   # beyond a float: every forecast would be Inf (predict wrote them)
                                   ("std_huge", lambda s: s["columns"][0].update(std=1e300), '"std" is 1e+300, not a number in'),
                                   ("mean_huge", lambda s: s["columns"][0].update(mean=-1e300), '"mean" is -1e+300, not a number in'),
                                   ("known_target", lambda s: s["columns"][0].update(known=True), "target"),
                                   # (it loaded, and the CSV reader named no file)
                                   ("name_twice", lambda s: s["columns"][1].update(name=s["columns"][0]["name"]),
                                    "fc_series_name_twice.safetensors: rnnc.series: forecast: column 'y' is named twice"),
                                   ("one_column", lambda s: s.update(columns=s["columns"][:1]), "columns"),
                                   ("context_huge", lambda s: s.update(context=1e12), "context"),
                                   ("name_missing", lambda s: s["columns"][1].pop("name"), "name")):
        s2 = json.loads(json.dumps(sr))
        change(s2)
        h = json.loads(text)
        h["__metadata__"]["rnnc.series"] = json.dumps(s2, separators=(",", ":"))
        fc_refused("fc_series_" + name, expected, header_text(h), data)
    h = json.loads(text)
    del h["__metadata__"]["rnnc.series"]
    fc_refused("fc_series_missing", "rnnc.series", header_text(h), data)
    # statistics within a float but a head that takes the forecasts beyond one: predict and eval
    # refuse naming the model file, rather than write or score Inf
    s2 = json.loads(json.dumps(sr))
    s2["columns"][0].update(std=1e38)
    h = json.loads(text)
    h["__metadata__"]["rnnc.series"] = json.dumps(s2, separators=(",", ":"))
    d2 = data
    for i in range(h["head.bias"]["shape"][0]):
        d2 = set_float(h, d2, "head.bias", i, 1e38)
    inf = "fc_forecast_inf.safetensors: the forecast 1 step after row"
    fc_refused("fc_forecast_inf", inf, header_text(h), d2)
    recent = c.file("recent.csv", "y,k\n" + "".join("%d,%d\n" % (10 + (i % 7), i % 7) for i in range(20)) + ",6\n,0\n")
    c.add("fc_forecast_inf/predict", inf, "forecast", "predict", "--model", os.path.join(c.out, "fc_forecast_inf.safetensors"),
          "--data", recent)


def tiktoken_cases(c, data_txt):
    """A .tiktoken rank file (the 256 bytes) and its sidecar with bad special tokens."""
    ranks = "".join("%s %d\n" % (base64.b64encode(bytes([i])).decode(), i) for i in range(256))

    def tk(name, expected, sidecar, rank_text=ranks):
        path = c.file(name + ".tiktoken", rank_text)
        if sidecar is not None:
            c.file(name + ".tiktoken.json", sidecar)
        c.add(name + "/encode", expected, "tokenizer", "encode", "-t", path, data_txt)

    tk("tk_valid", "OK", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 256, "<|b|>": 257}}')
    tk("tk_specials_share_id", "share", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 256, "<|b|>": 256}}')
    tk("tk_specials_share_text", "twice", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 256, "<|a|>": 257}}')
    tk("tk_special_nul", "NUL", '{"pattern": "cl100k", "special_tokens": {"<|a\\u0000b|>": 256}}')
    tk("tk_special_id_2p32", "4294967295", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 4294967295}}')
    tk("tk_special_id_1e30", "<|a|>", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 1e30}}')
    tk("tk_special_is_rank", "<|a|>", '{"pattern": "cl100k", "special_tokens": {"<|a|>": 3}}')
    tk("tk_sidecar_dup_key", "twice", '{"pattern": "cl100k", "pattern": "r50k", "special_tokens": {}}')
    tk("tk_rank_dup", "tk_rank_dup.tiktoken:2", None, ranks.replace("AQ== 1\n", "AA== 1\n"))
    tk("tk_rank_base64", "tk_rank_base64.tiktoken:3", None, ranks.replace("Ag== 2\n", "A!== 2\n"))
    tk("tk_rank_huge", "tk_rank_huge.tiktoken:1", None, ranks.replace("AA== 0\n", "AA== 99999999999999999999\n"))


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    lm, lm_bpe, s2s, run_dir, cls, fc, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    c = Cases(out)
    data_txt = c.file("text.txt", "the cat sees the dog. " * 40)
    lm_cases(c, lm, lm_bpe, data_txt, None)
    run_dir_cases(c, run_dir)
    s2s_cases(c, s2s)
    seq_cases(c, cls, fc)
    tiktoken_cases(c, data_txt)
    c.write()
    print("make_hostile: %d cases in %s" % (len(c.rows), out))


if __name__ == "__main__":
    main()
