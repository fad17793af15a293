#!/usr/bin/env python3
"""serverless.yml and package.json say what the contract says: exactly the binary's seven
functions with their methods and paths, the existing table referenced and not created, the topic
and the outbox table with the DynamoDB store's schema, and the npm scripts that deploy them.
Reads the files only: no network, no Serverless install.
Usage: deployment_test.py SERVERLESS_YML PACKAGE_JSON BINARY"""
import json
import re
import subprocess
import sys

import yaml

serverless_yml, package_json, binary = sys.argv[1:4]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


# The contract's endpoints, by function.
http_routes = {
    "retrieveMovies": ("GET", "/movies"),
    "retrieveTicket": ("GET", "/ticket"),
    "retrieveAllTickets": ("GET", "/tickets"),
    "createTicket": ("POST", "/ticket"),
    "updateTicket": ("PATCH", "/ticket"),
    "removeTicket": ("DELETE", "/ticket"),
}
event_function = "priceChangeEventHandler"

with open(serverless_yml) as f:
    sls = yaml.safe_load(f)

# The functions the binary knows, as its usage lists them.
usage = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
listed = usage[usage.index("FUNCTION:") + len("FUNCTION:"):].split()
check(sorted(listed) == sorted([*http_routes, event_function]), f"the binary lists {listed}")

provider = sls.get("provider", {})
check(sls.get("service") == "ticket-booking", "service is not ticket-booking")
check(str(sls.get("frameworkVersion")) == "3", "frameworkVersion is not 3")
check(provider.get("name") == "aws", "provider is not aws")
check(provider.get("runtime") == "provided.al2023", "runtime is not provided.al2023")
check(provider.get("architecture") == "x86_64", "architecture is not x86_64")
check(provider.get("stage") == "${opt:stage, 'dev'}", f"stage: {provider.get('stage')}")
check(provider.get("region") == "${env:AWS_REGION, 'us-east-1'}", f"region: {provider.get('region')}")
package = sls.get("package", {})
check(package.get("artifact") == "build/lambda/ticket-booking.zip", f"artifact: {package.get('artifact')}")
check(package.get("individually") in (None, False), "functions are packaged individually")

functions = sls.get("functions", {})
check(sorted(functions) == sorted(listed), f"serverless.yml has functions {sorted(functions)}")
for name, fn in functions.items():
    # The binary reads the function's name from _HANDLER, which Lambda takes from `handler`.
    check(fn.get("handler") == name, f"{name}: handler {fn.get('handler')}")
    events = fn.get("events", [])
    http = [e["http"] for e in events if "http" in e]
    sns = [e["sns"] for e in events if "sns" in e]
    if name in http_routes:
        method, path = http_routes[name]
        check(len(events) == 1 and len(http) == 1, f"{name}: events {events}")
        for h in http:
            check(str(h.get("method", "")).upper() == method, f"{name}: method {h.get('method')}")
            check("/" + str(h.get("path", "")).lstrip("/") == path, f"{name}: path {h.get('path')}")
            check(h.get("cors") is True, f"{name}: cors is not true")
    elif name == event_function:
        check(len(events) == 1 and len(sns) == 1, f"{name}: events {events}")
        for s in sns:
            check(s.get("arn") == {"Ref": "PriceChangeTopic"}, f"{name}: subscribed to {s.get('arn')}")
            check(s.get("filterPolicy") == {"eventType": ["PriceChangeInitiated"]}, f"{name}: filter {s.get('filterPolicy')}")
            check(s.get("filterPolicyScope") == "MessageBody",
                  f"{name}: filter scope {s.get('filterPolicyScope')}")

env = provider.get("environment", {})
check(env.get("DYNAMODB_TABLE") in ("ticket-booking", "${self:custom.ticketsTable}"), f"DYNAMODB_TABLE: {env.get('DYNAMODB_TABLE')}")
check(sls.get("custom", {}).get("ticketsTable", "ticket-booking") == "ticket-booking", "the tickets table is renamed")
check(env.get("DYNAMODB_EVENTS_TABLE") == {"Ref": "EventsTable"}, f"DYNAMODB_EVENTS_TABLE: {env.get('DYNAMODB_EVENTS_TABLE')}")
check(env.get("PRICE_CHANGE_TOPIC_ARN") == {"Ref": "PriceChangeTopic"}, f"PRICE_CHANGE_TOPIC_ARN: {env.get('PRICE_CHANGE_TOPIC_ARN')}")

# IAM: the existing table and the events table with its index for DynamoDB, the topic for SNS.
statements = provider.get("iam", {}).get("role", {}).get("statements", [])
text = json.dumps(statements)
check(re.search(r"table/(ticket-booking|\$\{self:custom\.ticketsTable\})\"", text) is not None, "no statement on the tickets table")
check('"Fn::GetAtt": ["EventsTable", "Arn"]' in text, "no statement on the events table")
check("pending-index" in text, "no statement on the events table's index")
publish = [s for s in statements if "sns:Publish" in s.get("Action", [])]
check(publish and publish[0].get("Resource") in ([{"Ref": "PriceChangeTopic"}], {"Ref": "PriceChangeTopic"}),
      "sns:Publish is not allowed on the topic")
for s in statements:
    check(s.get("Resource") not in ("*", ["*"]), f"a statement on every resource: {s}")

resources = sls.get("resources", {}).get("Resources", {})
custom = sls.get("custom", {})


def resolved(value):
    """${self:custom.X} as its value, ${sls:stage} as it stays."""
    return re.sub(r"\$\{self:custom\.(\w+)\}", lambda m: str(custom.get(m.group(1))), str(value))


tables = {k: v for k, v in resources.items() if v.get("Type") == "AWS::DynamoDB::Table"}
check(list(tables) == ["EventsTable"], f"tables made here: {list(tables)} (the tickets table exists already)")
topic = resources.get("PriceChangeTopic", {})
check(topic.get("Type") == "AWS::SNS::Topic", "no PriceChangeTopic topic")
check(resolved(topic.get("Properties", {}).get("TopicName")) == "ticket-booking-price-changes-${sls:stage}",
      f"topic name {topic.get('Properties', {}).get('TopicName')}")

events = resources.get("EventsTable", {}).get("Properties", {})
check(resolved(events.get("TableName")) == "ticket-booking-events-${sls:stage}", f"events table {events.get('TableName')}")
check(events.get("BillingMode") == "PAY_PER_REQUEST", "events table is not PAY_PER_REQUEST")
attributes = {a["AttributeName"]: a["AttributeType"] for a in events.get("AttributeDefinitions", [])}
check(attributes == {"eventId": "S", "pending": "S", "recordedAt": "S"}, f"attributes {attributes}")
check(events.get("KeySchema") == [{"AttributeName": "eventId", "KeyType": "HASH"}], f"key {events.get('KeySchema')}")
indexes = events.get("GlobalSecondaryIndexes", [])
check(len(indexes) == 1, f"{len(indexes)} indexes")
for index in indexes:
    check(index.get("IndexName") == "pending-index", f"index {index.get('IndexName')}")
    check(index.get("KeySchema") == [{"AttributeName": "pending", "KeyType": "HASH"},
                                     {"AttributeName": "recordedAt", "KeyType": "RANGE"}], f"index key {index.get('KeySchema')}")
    check(index.get("Projection") == {"ProjectionType": "ALL"}, f"projection {index.get('Projection')}")
check("LocalSecondaryIndexes" not in events, "the events table has local indexes")

with open(package_json) as f:
    npm = json.load(f)
scripts = npm.get("scripts", {})
check(scripts.get("package") == "scripts/package-lambda.sh", f"package script: {scripts.get('package')}")
deploy = scripts.get("deploy-dev", "")
check(re.fullmatch(r"npm run package && (sls|serverless) deploy --stage dev", deploy) is not None, f"deploy-dev: {deploy}")
check(str(npm.get("devDependencies", {}).get("serverless", "")).lstrip("^~").startswith("3."), "serverless is not v3")

for f in failures:
    print("FAIL:", f)
print(f"{'failed' if failures else 'passed'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
