#!/usr/bin/env python3
"""The original service's commands, as npm scripts, still resolve: `npm run` lists each, every
program a script names exists (the pinned Serverless Framework, the repository's scripts), the
Serverless CLI has the commands they run, and `npm run invoke-local` really runs a function on
a local data dir, as `serverless invoke local` did (which needs Docker for a custom runtime).
Usage: npm_scripts_test.py REPO_ROOT BINARY"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

from checklist import check, finish

root, binary = sys.argv[1:3]

expected = {
    "package": "scripts/package-lambda.sh",
    "deploy": "npm run package && serverless deploy",
    "deploy-dev": "npm run package && serverless deploy --stage dev",
    "deploy-prod": "npm run package && serverless deploy --stage prod --region us-west-2",
    "info": "serverless info --verbose",
    "logs": "serverless logs --tail",
    "remove": "serverless remove",
    "invoke-local": "scripts/invoke-local.sh",
}
with open(os.path.join(root, "package.json")) as f:
    npm = json.load(f)
scripts = npm.get("scripts", {})
check(scripts == expected, f"scripts {scripts}")
check(npm.get("devDependencies", {}).get("serverless", "").startswith("3."), "serverless is not pinned to a v3")

listing = subprocess.run(["npm", "run"], cwd=root, capture_output=True, text=True, check=True).stdout
for name in expected:
    check(f"\n  {name}\n" in listing, f"`npm run` does not list {name}")

bin_dir = os.path.join(root, "node_modules", ".bin")
serverless_commands = set()
for name, command in scripts.items():
    for part in command.split("&&"):
        words = shlex.split(part)
        program = words[0]
        if program == "npm":
            check(words[1] == "run" and words[2] in scripts, f"{name}: runs {part.strip()}, not a script here")
        elif program == "serverless":
            check(os.access(os.path.join(bin_dir, "serverless"), os.X_OK), f"{name}: no node_modules/.bin/serverless")
            serverless_commands.add(words[1])
        else:
            check(os.access(os.path.join(root, program), os.X_OK), f"{name}: {program} is not an executable here")

# Each Serverless command a script runs is one the pinned CLI has (its help names it).
env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
help_text = subprocess.run([os.path.join(bin_dir, "serverless"), "--help"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120).stdout
for command in sorted(serverless_commands):
    check(f"\n{command} " in help_text or f"\n{command}\n" in help_text, f"serverless has no `{command}` command")

# invoke-local: a ticket created and read back through the binary, in a data dir of its own.
with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    env = dict(os.environ, TICKET_BOOKING_BINARY=os.path.abspath(binary), DATA_DIR=data)
    env.pop("DYNAMODB_TABLE", None)

    def invoke_local(function, event):
        run = subprocess.run(["npm", "run", "--silent", "invoke-local", "--", function, event], cwd=root, env=env,
                             capture_output=True, text=True, timeout=60)
        check(run.returncode == 0, f"invoke-local {function}: exit {run.returncode}: {run.stderr}")
        return json.loads(run.stdout) if run.returncode == 0 else {}

    created = invoke_local("createTicket", json.dumps(
        {"httpMethod": "POST", "path": "/ticket", "body": json.dumps({"Theatre-Seat": "2-B4", "Movie": "Dune", "Price": 12.99})}))
    check(created.get("statusCode") == 201, f"createTicket answered {created}")
    got = invoke_local("retrieveTicket", json.dumps(
        {"httpMethod": "GET", "path": "/ticket", "queryStringParameters": {"Theatre-Seat": "2-B4"}}))
    check(got.get("statusCode") == 200 and json.loads(got.get("body", "{}")).get("Movie") == "Dune",
          f"retrieveTicket answered {got}")
    check(os.path.exists(os.path.join(data, "tickets.db")), "invoke-local did not use DATA_DIR")
    usage = subprocess.run(["npm", "run", "--silent", "invoke-local", "--", "createTicket"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
    check(usage.returncode != 0 and "usage: npm run invoke-local" in usage.stderr, f"a missing event: {usage.stderr}")

finish()
