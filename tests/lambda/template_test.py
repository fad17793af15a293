#!/usr/bin/env python3
"""The deployment as CloudFormation will get it: the binary packaged (scripts/package-lambda.sh),
serverless.yml packaged by the pinned Serverless Framework (no AWS account: dummy credentials),
the template linted by cfn-lint (0 errors, 0 warnings), then read: the eight functions and their
event sources, the filter policy, the failure queues, the tables (TTL, stream, Retain), the
existing tickets table never declared, one role per function with only its calls, the write
endpoints behind API keys and a usage plan.
Usage: template_test.py REPO_ROOT BINARY"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checklist import check, finish

root, binary = sys.argv[1:3]

service = "ticket-booking-cpp"
stage = "dev"
http_routes = {
    "retrieveMovies": ("GET", "movies"),
    "retrieveTicket": ("GET", "ticket"),
    "retrieveAllTickets": ("GET", "tickets"),
    "createTicket": ("POST", "ticket"),
    "updateTicket": ("PATCH", "ticket"),
    "removeTicket": ("DELETE", "ticket"),
}
functions = [*http_routes, "publishPriceChangeEvents", "priceChangeEventHandler"]
writes = {"POST", "PATCH", "DELETE"}

# What each function's code calls, and on what: (action, resource) pairs. "tickets" is the existing
# table's ARN; the others are this stack's resources by logical id.
logs = {("logs:CreateLogStream", "log"), ("logs:PutLogEvents", "log")}
allowed = {
    "retrieveMovies": {("dynamodb:Scan", "MoviesTable")},
    "retrieveTicket": {("dynamodb:GetItem", "tickets")},
    "retrieveAllTickets": {("dynamodb:Scan", "tickets")},
    "createTicket": {("dynamodb:GetItem", "tickets"), ("dynamodb:PutItem", "tickets"),
                     ("dynamodb:UpdateItem", "MoviesTable")},
    "updateTicket": {("dynamodb:GetItem", "tickets"), ("dynamodb:UpdateItem", "tickets"),
                     ("dynamodb:PutItem", "EventsTable"), ("dynamodb:UpdateItem", "MoviesTable")},
    "removeTicket": {("dynamodb:GetItem", "tickets"), ("dynamodb:DeleteItem", "tickets"),
                     ("dynamodb:UpdateItem", "MoviesTable")},
    "publishPriceChangeEvents": {("dynamodb:DescribeStream", "EventsTable.StreamArn"),
                                 ("dynamodb:GetRecords", "EventsTable.StreamArn"),
                                 ("dynamodb:GetShardIterator", "EventsTable.StreamArn"),
                                 ("dynamodb:ListStreams", "*"), ("sns:Publish", "PriceChangeTopic"),
                                 ("sqs:SendMessage", "PublishFailuresQueue")},
    "priceChangeEventHandler": {("dynamodb:GetItem", "tickets"), ("dynamodb:UpdateItem", "tickets"),
                                ("dynamodb:PutItem", "EventsTable"),
                                ("sqs:SendMessage", "HandlerFailuresQueue")},
}
write_actions = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                 "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "sns:Publish"}


def resource_name(r, function):
    """A statement's Resource as the short names of `allowed`."""
    if r == "*":
        return "*"
    if isinstance(r, dict) and "Fn::GetAtt" in r:
        name, attr = r["Fn::GetAtt"]
        return name if attr == "Arn" else f"{name}.{attr}"
    if isinstance(r, dict) and "Ref" in r:
        return r["Ref"]
    if isinstance(r, dict) and "Fn::Sub" in r:
        text = r["Fn::Sub"]
        if text.endswith(":table/ticket-booking"):
            return "tickets"
        if text.endswith(f":log-group:/aws/lambda/{service}-{stage}-{function}:*"):
            return "log"
    return json.dumps(r)


def as_list(v):
    return v if isinstance(v, list) else [v]


with tempfile.TemporaryDirectory() as tmp:
    # A copy of the service beside the repository's node_modules: the zip goes where serverless.yml
    # expects it without touching the build tree, and packages run side by side.
    svc = os.path.join(tmp, "svc")
    os.makedirs(os.path.join(svc, "build", "lambda"))
    for f in ("serverless.yml", "package.json"):
        shutil.copy(os.path.join(root, f), svc)
    os.symlink(os.path.join(root, "node_modules"), os.path.join(svc, "node_modules"))
    zip_path = os.path.join(svc, "build", "lambda", "ticket-booking.zip")
    subprocess.run(["bash", os.path.join(root, "scripts", "package-lambda.sh"), "--binary", binary, "--out", zip_path],
                   check=True, capture_output=True, text=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # `package` resolves no account: dummy credentials keep the SDK from looking for real ones
    # (and from waiting on an instance metadata endpoint); nothing is sent anywhere.
    env.update(AWS_ACCESS_KEY_ID="AKIDPACKAGEONLY", AWS_SECRET_ACCESS_KEY="package-only",
               AWS_EC2_METADATA_DISABLED="true", SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
    run = subprocess.run([os.path.join(svc, "node_modules", ".bin", "serverless"), "package", "--stage", stage],
                         cwd=svc, env=env, capture_output=True, text=True, timeout=240)
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        sys.exit("serverless package failed")
    check("Warning" not in run.stdout + run.stderr, f"serverless package warned: {run.stdout}{run.stderr}")
    template_path = os.path.join(svc, ".serverless", "cloudformation-template-update-stack.json")
    lint = subprocess.run(["cfn-lint", template_path], capture_output=True, text=True, timeout=240)
    check(lint.returncode == 0 and lint.stdout.strip() == "",
          f"cfn-lint found errors or warnings (rc {lint.returncode}):\n{lint.stdout}{lint.stderr}")
    with open(template_path) as f:
        template = json.load(f)

R = template["Resources"]
of_type = lambda t: {k: v for k, v in R.items() if v["Type"] == t}
logical = lambda name: name[0].upper() + name[1:]

# --- the functions: exactly the eight, named after the service, each on the one artifact -----------
usage = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
# The names after "FUNCTION:", camelCase; notes beside them, as "(DynamoDB only)", are not names.
listed = [w for w in usage[usage.index("FUNCTION:") + len("FUNCTION:"):].split()
          if re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)+", w)]
check(len(listed) >= 7, f"the binary's usage lists {listed}")
lambdas = of_type("AWS::Lambda::Function")
handlers = {v["Properties"]["Handler"]: v for v in lambdas.values()}
check(sorted(handlers) == sorted(functions), f"the functions are {sorted(handlers)}")
check(set(listed) <= set(handlers), f"the binary serves {listed}, not all deployed")
for name, fn in handlers.items():
    p = fn["Properties"]
    check(p["FunctionName"] == f"{service}-{stage}-{name}", f"{name}: named {p['FunctionName']}")
    check(p["Runtime"] == "provided.al2023" and p["Architectures"] == ["x86_64"], f"{name}: runtime")
    check(p["Code"]["S3Key"].endswith("/ticket-booking.zip"), f"{name}: code {p['Code']}")
    env = p["Environment"]["Variables"]
    check(env.get("DYNAMODB_TABLE") == "ticket-booking", f"{name}: DYNAMODB_TABLE {env.get('DYNAMODB_TABLE')}")
    check(env.get("DYNAMODB_EVENTS_TABLE") == {"Ref": "EventsTable"}, f"{name}: DYNAMODB_EVENTS_TABLE")
    check(env.get("DYNAMODB_MOVIES_TABLE") == {"Ref": "MoviesTable"}, f"{name}: DYNAMODB_MOVIES_TABLE")
    check(env.get("PRICE_CHANGE_TOPIC_ARN") == {"Ref": "PriceChangeTopic"}, f"{name}: PRICE_CHANGE_TOPIC_ARN")
    check(p["Role"] == {"Fn::Sub": "${%sRole.Arn}" % logical(name)}, f"{name}: role {p['Role']}")

# --- the API: each route to its function; writes need a key, reads do not --------------------------
methods = of_type("AWS::ApiGateway::Method")
for name, (method, path) in http_routes.items():
    m = R.get(f"ApiGatewayMethod{logical(path)}{method.capitalize()}")
    check(m is not None, f"no {method} /{path}")
    if not m:
        continue
    uri = json.dumps(m["Properties"]["Integration"]["Uri"])
    check(f"{logical(name)}LambdaFunction" in uri, f"{method} /{path} does not invoke {name}: {uri}")
    check(m["Properties"].get("ApiKeyRequired", False) == (method in writes),
          f"{method} /{path}: ApiKeyRequired {m['Properties'].get('ApiKeyRequired')}")
for m in methods.values():
    if m["Properties"]["HttpMethod"] == "OPTIONS":
        check(not m["Properties"].get("ApiKeyRequired", False), "a CORS preflight needs a key")
keys = of_type("AWS::ApiGateway::ApiKey")
check(len(keys) == 1, f"{len(keys)} API keys")
for k in keys.values():
    check(k["Properties"].get("Name") == f"{service}-{stage}-writer", f"key {k['Properties'].get('Name')}")
    check(k["Properties"].get("Enabled") is True, "the key is disabled")
plans = of_type("AWS::ApiGateway::UsagePlan")
check(len(plans) == 1, f"{len(plans)} usage plans")
for plan in plans.values():
    throttle = plan["Properties"].get("Throttle", {})
    check(throttle.get("RateLimit", 0) > 0 and throttle.get("BurstLimit", 0) > 0, f"throttle {throttle}")
plan_keys = of_type("AWS::ApiGateway::UsagePlanKey")
check(len(plan_keys) == 1 and all(v["Properties"]["KeyType"] == "API_KEY" for v in plan_keys.values()),
      "the key is not in the usage plan")

# --- the tables: only this stack's own, retained; the existing one only referenced ---------------
tables = of_type("AWS::DynamoDB::Table")
check(sorted(tables) == ["EventsTable", "MoviesTable"], f"tables declared: {sorted(tables)}")
check(all(t["Properties"].get("TableName") != "ticket-booking" for t in tables.values()),
      "the existing tickets table is declared: CloudFormation would own (and could delete) it")
for name, t in tables.items():
    check(t.get("DeletionPolicy") == "Retain" and t.get("UpdateReplacePolicy") == "Retain", f"{name} is not retained")
    check(t["Properties"].get("BillingMode") == "PAY_PER_REQUEST", f"{name} is not PAY_PER_REQUEST")
    check("GlobalSecondaryIndexes" not in t["Properties"] and "LocalSecondaryIndexes" not in t["Properties"],
          f"{name} has indexes")
events = tables.get("EventsTable", {}).get("Properties", {})
check(events.get("TableName") == f"{service}-events-{stage}", f"outbox table {events.get('TableName')}")
check(events.get("KeySchema") == [{"AttributeName": "eventId", "KeyType": "HASH"}], f"outbox key {events.get('KeySchema')}")
check(events.get("AttributeDefinitions") == [{"AttributeName": "eventId", "AttributeType": "S"}], "outbox attributes")
check(events.get("TimeToLiveSpecification") == {"AttributeName": "expiresAt", "Enabled": True},
      f"outbox TTL {events.get('TimeToLiveSpecification')}")
check(events.get("StreamSpecification") == {"StreamViewType": "NEW_IMAGE"}, f"outbox stream {events.get('StreamSpecification')}")
movies = tables.get("MoviesTable", {}).get("Properties", {})
check(movies.get("TableName") == f"{service}-movies-{stage}", f"movie table {movies.get('TableName')}")
check(movies.get("KeySchema") == [{"AttributeName": "Movie", "KeyType": "HASH"}], f"movie key {movies.get('KeySchema')}")
topic = R.get("PriceChangeTopic", {})
check(topic.get("Type") == "AWS::SNS::Topic" and topic["Properties"]["TopicName"] == f"{service}-price-changes-{stage}",
      f"topic {topic}")

# --- the relay: the outbox's stream, new rows only, failures reported per record, then queued ------
mappings = of_type("AWS::Lambda::EventSourceMapping")
check(len(mappings) == 1, f"{len(mappings)} event source mappings")
for m in mappings.values():
    p = m["Properties"]
    check(p["FunctionName"] == {"Fn::GetAtt": ["PublishPriceChangeEventsLambdaFunction", "Arn"]}, f"mapping to {p['FunctionName']}")
    check(p["EventSourceArn"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}, f"mapping from {p['EventSourceArn']}")
    check([json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])] == [{"eventName": ["INSERT"]}],
          f"stream filter {p.get('FilterCriteria')}")
    check(p.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], "no ReportBatchItemFailures")
    check(p.get("BisectBatchOnFunctionError") is True, "no bisect on error")
    check(0 < p.get("MaximumRetryAttempts", -1) <= 10000, f"retries {p.get('MaximumRetryAttempts')}")
    check(p.get("DestinationConfig") == {"OnFailure": {"Destination": {"Fn::GetAtt": ["PublishFailuresQueue", "Arn"]}}},
          f"relay on-failure {p.get('DestinationConfig')}")

# --- the handler: PriceChangeInitiated by the body, retried, then queued; SNS's own failures queued --
subs = of_type("AWS::SNS::Subscription")
check(len(subs) == 1, f"{len(subs)} subscriptions")
for s in subs.values():
    p = s["Properties"]
    check(p["TopicArn"] == {"Ref": "PriceChangeTopic"} and p["Protocol"] == "lambda", f"subscription {p}")
    check(p["Endpoint"] == {"Fn::GetAtt": ["PriceChangeEventHandlerLambdaFunction", "Arn"]}, f"subscribed {p['Endpoint']}")
    check(p.get("FilterPolicy") == {"eventType": ["PriceChangeInitiated"]}, f"filter {p.get('FilterPolicy')}")
    check(p.get("FilterPolicyScope") == "MessageBody", f"filter scope {p.get('FilterPolicyScope')}")
    check(p.get("RedrivePolicy") == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeliveryFailuresQueue", "Arn"]}},
          f"redrive {p.get('RedrivePolicy')}")
queue_policies = [v["Properties"] for v in of_type("AWS::SQS::QueuePolicy").values()]
check(any(q["Queues"] == [{"Ref": "DeliveryFailuresQueue"}] and
          q["PolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"} and
          q["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "PriceChangeTopic"}
          for q in queue_policies), "SNS may not send to DeliveryFailuresQueue (or any topic may)")
configs = of_type("AWS::Lambda::EventInvokeConfig")
check(len(configs) == 1, f"{len(configs)} async configs")
for c in configs.values():
    p = c["Properties"]
    check(p["FunctionName"] == {"Ref": "PriceChangeEventHandlerLambdaFunction"}, f"async config of {p['FunctionName']}")
    check(p.get("MaximumRetryAttempts") == 2, f"async retries {p.get('MaximumRetryAttempts')}")
    check(p.get("DestinationConfig") == {"OnFailure": {"Destination": {"Fn::GetAtt": ["HandlerFailuresQueue", "Arn"]}}},
          f"handler on-failure {p.get('DestinationConfig')}")
for q in ("PublishFailuresQueue", "HandlerFailuresQueue", "DeliveryFailuresQueue"):
    queue = R.get(q, {})
    check(queue.get("Type") == "AWS::SQS::Queue", f"no {q}")
    check(queue.get("Properties", {}).get("MessageRetentionPeriod") == 1209600, f"{q} keeps messages less than 14 days")

# --- IAM: one role per function, exactly its calls; reads write nothing ---------------------------
roles = of_type("AWS::IAM::Role")
check("IamRoleLambdaExecution" not in R, "a shared role for every function")
check(sorted(roles) == sorted(f"{logical(n)}Role" for n in functions), f"roles {sorted(roles)}")
for name in functions:
    role = roles.get(f"{logical(name)}Role")
    if not role:
        continue
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    check(trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
          f"{name}: trust {trust}")
    granted = set()
    for policy in role["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            check(st["Effect"] == "Allow", f"{name}: {st['Effect']}")
            for action in as_list(st["Action"]):
                for r in as_list(st["Resource"]):
                    granted.add((action, resource_name(r, name)))
    check(granted == allowed[name] | logs,
          f"{name}: grants beyond its calls {sorted(granted - allowed[name] - logs)}, missing {sorted((allowed[name] | logs) - granted)}")
    if name.startswith("retrieve"):
        check(not any(a in write_actions for a, _ in granted), f"{name} may write")
    check(all(r != "*" or a == "dynamodb:ListStreams" for a, r in granted), f"{name}: an action on every resource")
    check(not any(a.endswith("*") for a, _ in granted), f"{name}: a wildcard action")

finish()
