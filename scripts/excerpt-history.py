#!/usr/bin/env python3
"""Cut a small excerpt out of a real faultline history, for test fixtures.

  excerpt-history.py register HISTORY KEY            > excerpt.jsonl
  excerpt-history.py queue HISTORY PARTITION FROM TO > excerpt.jsonl

register: every call on one zk-register key, plus the nemesis's calls.
queue: one kafka-queue partition, offsets FROM..TO only, shifted down by
FROM (so the excerpt's partition starts at 0): the sends to it acknowledged
in that range or never acknowledged while the range was written, and every
poll's records of it in that range; polls that read nothing there, and
sends outside it, are left out; final reads end at TO+1-FROM. Ops keep their
original index, time and process, so an excerpt reads as the real run did.
"""
import json
import sys


def calls(path):
    """Pair invocations with completions, per process, in file order."""
    ops = [json.loads(line) for line in open(path) if line.strip()]
    pending, out = {}, []
    for op in ops:
        p = op["process"]
        if op["type"] == "invoke":
            pending[p] = len(out)
            out.append([op, None])
        elif p in pending:
            out[pending.pop(p)][1] = op
    return out


def emit(pairs):
    ops = []
    for inv, done in pairs:
        ops.append(inv)
        if done is not None:
            ops.append(done)
    for op in sorted(ops, key=lambda o: o["index"]):
        print(json.dumps(op, separators=(",", ":")))


def register(path, key):
    emit([c for c in calls(path) if c[0].get("key") == key or c[0]["process"] == "nemesis"])


def queue(path, part, lo, hi):
    keep = []
    for inv, done in calls(path):
        if inv["process"] == "nemesis":
            keep.append([inv, done])
            continue
        if inv["f"] == "send":
            if inv.get("key") != part:
                continue
            off = (done or {}).get("value", {}).get("offset") if done and isinstance(done.get("value"), dict) else None
            if off is not None:
                if not lo <= off <= hi:
                    continue
                done["value"]["offset"] = off - lo
            keep.append([inv, done])
            continue
        if inv["f"] == "poll":
            if done is None or not isinstance(done.get("value"), dict):
                continue
            v = done["value"]
            recs = [[o - lo, val] for o, val in v.get("records", {}).get(part, []) if lo <= o <= hi]
            if not recs:
                continue
            v["records"] = {part: recs}
            if "end_offset" in v:
                v["end_offset"] = min(v["end_offset"], hi + 1) - lo
            v.pop("elided", None)
            if isinstance(inv.get("value"), dict) and "partitions" in inv["value"]:
                inv["value"]["partitions"] = [int(part)]
            keep.append([inv, done])
    emit(keep)


if __name__ == "__main__":
    if sys.argv[1] == "register":
        register(sys.argv[2], sys.argv[3])
    else:
        queue(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
