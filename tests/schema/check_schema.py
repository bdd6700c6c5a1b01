#!/usr/bin/env python3
"""Keeps scenarios/schema.json true.

usage: check_schema.py KASIM_BINARY SOURCE_DIR

1. `kasim schema` (generated from the op and object registry) must equal the
   committed scenarios/schema.json: regenerate it with
   `build/kasim schema > scenarios/schema.json` after adding an op.
2. The schema must be a valid JSON Schema (draft 2020-12), every example
   scenario must satisfy it, and a scenario with a misspelled field must not.
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema

kasim, src = sys.argv[1], sys.argv[2]
generated = json.loads(subprocess.run([kasim, "schema"], check=True, capture_output=True).stdout)
with open(os.path.join(src, "scenarios", "schema.json")) as f:
    committed = json.load(f)
if generated != committed:
    sys.exit("scenarios/schema.json is stale: run `build/kasim schema > scenarios/schema.json`")

validator = jsonschema.Draft202012Validator
validator.check_schema(committed)
examples = sorted(glob.glob(os.path.join(src, "scenarios", "examples", "*.json")))
if not examples:
    sys.exit("no example scenarios found")
for path in examples:
    with open(path) as f:
        errors = list(validator(committed).iter_errors(json.load(f)))
    if errors:
        sys.exit(f"{path}: does not match the schema: {errors[0].message}")

typo = {"kasim": 1, "name": "t", "threads": [{"steps": [{"op": "delay", "nss": 5}]}]}
if validator(committed).is_valid(typo):
    sys.exit("the schema accepts a misspelled argument")
print(f"schema current; {len(examples)} examples match; misspelling rejected")
