"""Hold eksdoctor's ASFF batches to AWS Security Hub's own API model, then
import them into moto's Security Hub and read them back.

Run by crates/eksdoctor/tests/export.rs with the python of moto's venv
(botocore and boto3 come with moto). Usage: PY ASFF_JSON MOTO_URL

1. botocore's ParamValidator on BatchImportFindings' input shape: required
   members, member names (an unknown member is an error), types, minimum
   lengths. botocore checks neither maximums nor patterns, so a walk over
   the same shape checks every `max` the model carries (string lengths in
   UTF-16 units, as the service's Java side counts them; list and map
   sizes) and every `pattern` (`.*\S.*`: not blank). The model carries no
   maximum for Title, Description and the like (the API reference states
   them in prose): the Rust property tests in crates/core/src/export hold
   those.
2. batch-import-findings into moto, per batch, in the batch's region; then
   get-findings must return every id.
"""
import json
import re
import sys

import boto3
import botocore.session
from botocore.validate import ParamValidator


def check_shape(value, shape, path, errs):
    top = shape.metadata.get("max")
    kind = shape.type_name
    if kind == "structure":
        for k, v in value.items():
            if k in shape.members:
                check_shape(v, shape.members[k], f"{path}.{k}", errs)
    elif kind == "list":
        if top is not None and len(value) > top:
            errs.append(f"{path}: {len(value)} items, max {top}")
        for i, v in enumerate(value):
            check_shape(v, shape.member, f"{path}[{i}]", errs)
    elif kind == "map":
        if top is not None and len(value) > top:
            errs.append(f"{path}: {len(value)} entries, max {top}")
        for k, v in value.items():
            check_shape(k, shape.key, f"{path} key", errs)
            check_shape(v, shape.value, f"{path}.{k}", errs)
    elif kind == "string" and isinstance(value, str):
        units = len(value.encode("utf-16-le")) // 2
        if top is not None and units > top:
            errs.append(f"{path}: {units} characters, max {top}")
        pattern = shape.metadata.get("pattern")
        if pattern and not re.search(pattern, value):
            errs.append(f"{path}: {value!r} does not match {pattern}")


def main():
    doc = json.load(open(sys.argv[1]))
    moto_url = sys.argv[2]
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    errs = []
    for i, batch in enumerate(doc["batches"]):
        params = {"Findings": batch["findings"]}
        report = ParamValidator().validate(params, shape)
        if report.has_errors():
            errs.append(f"batch {i}: {report.generate_report()}")
        check_shape(params, shape, f"batch {i}", errs)
    if errs:
        print("\n".join(errs))
        sys.exit(1)
    imported = 0
    for batch in doc["batches"]:
        hub = boto3.client(
            "securityhub",
            region_name=batch["region"],
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        out = hub.batch_import_findings(Findings=batch["findings"])
        if out["FailedCount"]:
            print(f"import failed: {out['FailedFindings']}")
            sys.exit(1)
        got = {f["Id"] for f in hub.get_findings()["Findings"]}
        missing = {f["Id"] for f in batch["findings"]} - got
        if missing:
            print(f"not read back from {batch['region']}: {sorted(missing)}")
            sys.exit(1)
        imported += out["SuccessCount"]
    print(f"ok: {imported} findings valid and imported")


main()
