export const MAIN_HELP = `spool: persistent Claude agents as event-sourced actors on NATS JetStream

Usage: spool <command> [options]

Commands:
  init [dir]                create a project: spool.config.ts with an agent and a tool, package.json
  demo                      run the example end to end on the embedded default, then exit
  up [--config F]           run the coordinator and every agent of the config (Ctrl-C stops)
  agent <name> [--config F] run one agent (or a pool, or one replica <name>-<k>) until SIGINT/SIGTERM
  coordinator [--config F]  run the coordinator (task registry, status API)
  submit <agent> <input>    submit a task (input "-" reads stdin) [--id ID] [--wait [--follow]] [--json]
                            (a keyed agent's instance: submit <agent>/<key>; also replay [--verify],
                            cancel, approve, deny, dlq retry|drop --agent <agent>/<key>)
  run <workflow> <input>    run a workflow of the config (input "-" reads stdin) [--id ID] [--wait [--quiet|--follow]] [--json]
  workflow [<id>]           a workflow's steps (status, attempts, tasks, outputs), or the list [--json]
  schedule list             the schedules: next fire, last fire and its outcome, paused [--json]
  schedule pause|resume|trigger <name>   stop or restart its fires, or fire it once now
  schedule backfill <name> --from T --to T   fire each of its times in a past range, once
  replay <agent>            each event of the history and the state it led to [--until SEQ] [--json]
                            (replay coordinator: the workflow decisions, dispatches and outcomes)
                            [--verify: rebuild from scratch and compare with the latest snapshot]
  status                    agents, pools, keyed agents (instances active, passivated, known; hosts
                            alive), workflows, schedules' next fires, tasks in flight and queued,
                            spend [--json]
  pause <agent>             finish the step in flight, start nothing new, keep queueing [--reason R]
  resume <agent>            start work again
  cancel <taskId>           end a task (or a workflow, by its id) as cancelled [--agent A] [--reason R]
  console [--port P]        the web console: agents, tasks and their history, approvals, dead letters,
                            workflows; prints its address and token [--host H]
  dlq                       failed tasks waiting in the dead-letter view [--json]
  dlq retry|drop <taskId>   run one again as a new attempt, or remove it from the view [--agent A]
  approve <taskId>          let the task's tool calls waiting for an operator run [--agent A]
  deny <taskId> --reason R  refuse them: the model is told they failed, and why [--agent A]
  schema [--out F]          the config's JSON Schema (for "$schema" in a spool.config.json)
  permissions <role> [name] the nats-server permissions of agent <name>, coordinator, client, operator, admin
  provision                 create Spool's streams and buckets (as the admin role)
  forget <agent>/<key>      erase one instance of a keyed agent (history, results, snapshot, queued
                            messages), journaling a tombstone (as the admin role) [--json]

Environment:
  NATS_URL            NATS server (default nats://127.0.0.1:4222)
  ANTHROPIC_API_KEY   Claude API key; up and agent refuse to start without it unless --offline
  SPOOL_OFFLINE       1: run agents on the built-in offline model (as --offline); its results
                      and history say model "offline"
  ANTHROPIC_BASE_URL  Messages API base URL (as the Anthropic SDK reads it)
  NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY, NATS_CA, NATS_CERT, NATS_KEY
                      credentials and TLS, as the NATS tools read them (over the config's nats)
  SPOOL_NAMESPACE     prefix every subject, suffix every stream and bucket (config namespace)
  SPOOL_INBOX_PREFIX  this process's reply-subject prefix (default: its role's)
  SPOOL_LOG_LEVEL     fatal|error|warn|info|debug|trace|silent (logs go to stderr)
  SPOOL_CONSOLE_PORT  the web console's port (spool console, spool up; default 4380)
  SPOOL_CONSOLE_TOKEN the console's token for actions (default: a new one printed at start)
  SPOOL_REPLICAS      replicas of the streams and buckets Spool creates (1-5; 3 on a
                      cluster); wins over the config's nats.replicas
  SPOOL_METRICS_PORT  up, agent, coordinator: serve /metrics, /healthz, /readyz on this port
  SPOOL_METRICS_HOST  the address they listen on (default 127.0.0.1)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf|http/json),
  OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER (otlp|console|none)
                      export traces (up, agent, coordinator, submit, run); prompt and reply
                      text only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
  OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY,
  OTEL_BSP_EXPORT_TIMEOUT
                      the span queue (default 2048 spans, batches of 512, every 5000 ms,
                      30000 ms per export); dropped spans are counted in a warning

Run "spool <command> --help" for a command's options. Exit codes: 0 ok, 1 failed, 2 bad usage.
SIGTERM or Ctrl-C stops up, agent and coordinator gracefully (exit 0); a second one at once.`;

export const COMMAND_HELP: Record<string, string> = {
  schedule: `Usage: spool schedule list [--json]
       spool schedule pause <name> [--reason R]
       spool schedule resume <name>
       spool schedule trigger <name>
       spool schedule backfill <name> --from T --to T

The coordinator's schedules (the config's "schedules"). list shows each one's next fire,
last fire and its outcome, open fires, the last skipped times and why, and a warning when
fires pile up behind one that does not finish (folded from the coordinator's history when
no coordinator answers). The other actions are sent on spool.control.coordinator and
journaled in its history (they survive restarts); the command waits until the coordinator
has journaled one and says what it did.

  pause        no more fires until resume (times passed while paused are not owed)
  resume       fires again from its next time
  trigger      one fire now, whatever the overlap policy, as task <name>@<time>+t<seq>
  backfill     one fire for each of its times from --from to --to (ISO, inclusive; at most
               100), as task <name>@<time>: a time already fired is not run again
  --json       the command and the schedule's view as JSON
  --timeout S  how long to wait for the coordinator (default 5)`,
  init: `Usage: spool init [dir] [--json]

Creates a project in dir (default: the current directory): spool.config.ts with one agent
and one tool, tsconfig.json, tasks.json (the demo's seed tasks), a package.json whose
scripts run it (npm run demo: offline, on an embedded NATS; npm run up: on Claude) and a
.gitignore. Refuses to overwrite: if any of these files exists, nothing is written.

  --json       write spool.config.json instead (with "$schema" for editors; no tools,
               which are code)`,
  permissions: `Usage: spool permissions <role> [name] [--config F] [--inbox-prefix P]

Prints, as JSON, the nats-server "permissions" object of a role, to paste into a user of
the server's authorization block: exactly the subjects Spool uses for it, and nothing more.

  agent <name>     one agent or pool (needs the config: replicas, delegation, subscriptions)
  coordinator      the coordinator process
  client           submit tasks and workflow runs, read results, follow streams
  operator         a client's, plus control, status, dead letters, approvals, replay
  admin            spool provision (creates the streams and buckets), and anything in Spool's space

  --config F         config (default ./spool.config.json or ./spool.config.ts)
  --inbox-prefix P   the role's reply prefix (default _INBOX_<role>[_<agent>]; the process
                     uses it too, or SPOOL_INBOX_PREFIX)
SPOOL_NAMESPACE (or the config's namespace) puts the subjects in that namespace.`,
  provision: `Usage: spool provision [--config F]

Creates Spool's streams and KV buckets if they are missing (with the config's or
SPOOL_REPLICAS' replicas). Run it once as the admin role: the other roles create none.

  --config F   config (default ./spool.config.json or ./spool.config.ts, when there is one)`,
  schema: `Usage: spool schema [--out F]

Prints the JSON Schema of the config (generated from the schema spool validates with).
A spool.config.json names it for editors: "$schema":
"./node_modules/@spool/core/schema/spool.config.schema.json".

  --out F      write it to F instead of stdout`,
  demo: `Usage: spool demo [--config F] [--tasks F] [--offline] [--json]

Runs the main job on the embedded default: uses NATS_URL when a server answers there,
else starts nats-server -js with data under .spool/; runs the coordinator and the agents
of the config, submits the seed tasks and workflow runs, prints each result, and exits 0.
Without ANTHROPIC_API_KEY (or with --offline) it runs on the built-in offline model.
The multi-agent examples: --config examples/research/spool.config.json (a workflow), the
same with examples/planner (delegation); examples/support/spool.config.ts is a keyed agent
(one support instance per customer, seeds {"agent": "support/<customer>", …}).

  --config F   config (default ./spool.config.ts or ./spool.config.json; in a checkout of
               Spool without one, examples/data-analysis/spool.config.ts)
  --tasks F    seeds, a JSON array of {"agent"?, "input"} tasks (agent: the config's first if
               left out; <agent>/<key> for a keyed agent's instance) and {"workflow", "input"}
               runs (default tasks.json beside the config)
  --offline    the built-in offline model even when ANTHROPIC_API_KEY is set
  --json       print each result as one JSON line`,
  up: `Usage: spool up [--config F] [--offline] [--console-port P] [--no-console] [--metrics-port P]

The embedded default: uses NATS_URL when a server answers there, else starts
nats-server -js with data under .spool/; then runs the coordinator and every agent of
the config in this process until Ctrl-C or SIGTERM, and stops them all cleanly (exit 0),
the embedded nats-server too. One left running by a spool that was SIGKILLed is adopted.
It also serves the web console (see spool console --help) and prints its address.

  --config F          config file (default ./spool.config.json or ./spool.config.ts)
  --console-port P    the console's port (default SPOOL_CONSOLE_PORT or 4380; a free one
                      when that is taken)
  --no-console        no web console
  --offline    run the agents on the built-in offline model (also SPOOL_OFFLINE=1); without
               it, ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) must be set
  --metrics-port P  serve Prometheus /metrics, /healthz and /readyz on 127.0.0.1:P
               (also SPOOL_METRICS_PORT; 0: any free port, logged) for the
               coordinator and every agent of the process`,
  agent: `Usage: spool agent <name> [--config F] [--replica K] [--offline] [--metrics-port P]

Runs one agent until SIGINT/SIGTERM. A second process with the same name stands by and
takes over when the first one stops or dies.

An agent with "replicas": N is a pool: N actors <name>-1 … <name>-N, each with its own
history, share spool.inbox.<name>; a task goes to one of them and its result is published
on spool.results.<name>.<taskId>. spool agent <name> runs all N here; spool agent <name>-<k>
(or --replica K) runs one, to spread a pool over processes and machines. A replica whose
process dies is adopted by a sibling, which finishes its tasks from its history.

  --config F   config file (default ./spool.config.json or ./spool.config.ts)
  --replica K  run only replica K of the pool <name>
  --offline    run on the built-in offline model (also SPOOL_OFFLINE=1); without it,
               ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) must be set
  --metrics-port P  serve Prometheus /metrics, /healthz and /readyz on 127.0.0.1:P
               (also SPOOL_METRICS_PORT; 0: any free port, logged)`,
  coordinator: `Usage: spool coordinator [--config F] [--metrics-port P]

Runs the coordinator: rebuilds the task registry from the histories and answers
status requests on spool.api.status; runs the config's workflows (spool run). One
coordinator writes at a time: a second one stands by and takes over when the first dies.

  --config F   config file (default ./spool.config.json or ./spool.config.ts)
  --metrics-port P  serve Prometheus /metrics, /healthz and /readyz on 127.0.0.1:P
               (also SPOOL_METRICS_PORT; 0: any free port, logged)`,
  forget: `Usage: spool forget <agent>/<key> [--json]

Erases one instance of a keyed agent: its history (spool.keyed.<agent>.<key>), its results
(spool.results.<agent>.<key>.>), its snapshot, its ownership and wake records, and its queued
tasks and commands; other keys are untouched. A host that runs the instance is asked to
passivate it first, and the instance stays fenced (owned by this command) during the purge.
Its history then starts with one agent.forgotten event (when, and how much was purged; no
personal data). Purging needs the admin role's credentials.

  --json         print what was purged as JSON`,
  submit: `Usage: spool submit <agent> <input> [--id ID] [--wait [--follow]] [--timeout SEC] [--json]

Publishes {"id", "input"} on spool.inbox.<agent>. The id is the idempotency key: the
same id submitted twice is one task.

  <input>        the task text; "-" reads it from stdin
  --id ID        task id (default: generated); letters, digits and _ : = @ + -
  --wait         wait for the result and print it (exit 1 if the task failed or was rejected)
  --follow       with --wait, print the reply text as the model streams it (live only: the
                 journal records each complete reply once; --json: NDJSON text lines)
  --timeout SEC  with --wait, give up after SEC seconds (default 600)
  --json         print JSON (the submission, or the result with --wait)`,
  run: `Usage: spool run <workflow> <input> [--id ID] [--wait [--quiet|--follow]] [--timeout SEC] [--json] [--config F]

Publishes {"id", "workflow", "input"} on spool.inbox.coordinator (msg id workflow:<id>):
the coordinator runs the workflow's steps as tasks of their agents and publishes the
outcome on spool.results.coordinator.<id>. The same id sent twice is one run.

  <input>        the workflow input ({{input}} in its templates); "-" reads it from stdin
  --id ID        workflow id (default: generated wf-…); letters, digits and _ = @ + -
  --wait         wait for the result and print it (exit 1 if the workflow failed, was
                 cancelled or rejected); meanwhile print its progress on stderr as the
                 coordinator journals it: a line per step started/finished and task
                 dispatched/finished, with the time since the start ("  +1.2s plan: ...")
  --quiet        with --wait, no progress lines
  --follow       with --wait --json, progress as NDJSON {"type": "progress", "event"} lines
                 on stdout before the result line
  --timeout SEC  with --wait, give up after SEC seconds (default 600)
  --json         print JSON (the submission, or the result with --wait)
  --config F     check the workflow name against this config (default: ./spool.config.json
                 or ./spool.config.ts when there is one)`,
  workflow: `Usage: spool workflow [<id>] [--json] [--timeout SEC]

Asks the coordinator (spool.api.workflows) for one workflow: its status, what its tasks
used, and each step's status, attempts, task ids and an excerpt of its output. Without an
id: the workflows, running first, then newest first (at most 100). When no coordinator
answers, the same view is folded from its history (spool.history.coordinator), using the
embedded server's data under .spool/ when no server answers at NATS_URL.

  --json         print the coordinator's view as JSON
  --timeout SEC  how long to wait for the coordinator (default 3)`,
  replay: `Usage: spool replay <agent> [--until SEQ] [--json] [--verify]
       spool replay <agent>/<key> [--until SEQ] [--json] [--verify]

Replays the agent's history: each event and the state it led to (<agent>/<key>: one keyed
instance's, from SPOOL_KEYED; --verify checks its snapshot <agent>.<key>). Uses the embedded
server's data under .spool/ when no server answers at NATS_URL. "spool replay coordinator"
replays the workflows' history: each start, step, task dispatched (agent, task id, attempt),
sent, finished, cancel and result, with the workflows and open tasks after it.

  --until SEQ  stop after history sequence SEQ (see the agent as it was then)
  --json       NDJSON: one {seq, time, event, state} object per event
  --verify     rebuild the state from the whole history up to the latest snapshot's
               sequence and compare it with that snapshot; prints each difference and
               exits 1 when they differ (0 when they match or there is no snapshot);
               replay coordinator --verify checks the coordinator's snapshot`,
  pause: `Usage: spool pause <agent> [--reason R] [--json]

Publishes {"type": "pause"} on spool.control.<agent>. The agent journals it: it finishes
the model call in flight, starts no new task or step, and keeps taking tasks into its
queue. A paused agent restarts paused. Sent while the agent is not running, it applies
when the agent next starts.

  --reason R   why (kept in the history)
  --json       print {agent, type, controlSeq}`,
  resume: `Usage: spool resume <agent> [--json]

Publishes {"type": "resume"} on spool.control.<agent>: a paused agent starts work again.`,
  cancel: `Usage: spool cancel <taskId> [--agent A] [--reason R] [--json]

Publishes {"type": "cancel", "taskId"} on spool.control.<agent>. When the id is a workflow's
(the coordinator knows it), it goes to spool.control.coordinator instead: the workflow ends
"cancelled" and its running tasks are cancelled. A queued or running task
ends with a "cancelled" result (a model call in flight is abandoned); a task not received
yet is cancelled when it arrives. A finished task is left as it is (exit 1).

  --agent A    the agent of the task (default: ask the coordinator which agent runs it);
               for a pool, the cancel goes to the replica that holds the task
  --reason R   why (kept in the history and in the result's error message)
  --json       print {agent, type, taskId, controlSeq}`,
  console: `Usage: spool console [--port P] [--host H]

Serves the web console until Ctrl-C or SIGTERM, and prints its address with its token
(http://127.0.0.1:4380/#token=…): agents and pools (status, holder, in flight, queued, cost
today); tasks filtered by agent and status; a task's events in history order and its state
after each, stepping back and forth over the sequence numbers (as spool replay --until); the
reply of a running task as it streams; workflows with their steps drawn as a graph; pending
approvals (approve, deny); dead letters (retry, drop); pause, resume and cancel; keyed
agents with their instances, each instance's tasks and a keyed task's page. It reads and
acts through the same subjects as the CLI (spool.api.status, spool.api.dlq,
spool.api.workflows, the histories, spool.control.<agent>), as the operator role.

Actions need the token (Authorization: Bearer <token>; the page keeps the one in the printed
address). On any host but loopback every request needs it. It waits for NATS when none
answers yet, and the page says so.

  --port P     port (default SPOOL_CONSOLE_PORT or 4380; 0: any free port)
  --host H     address to listen on (default 127.0.0.1)
SPOOL_CONSOLE_TOKEN sets the token (default: a new random one each start).`,
  dlq: `Usage: spool dlq [--json]
       spool dlq retry <taskId> [--agent A] [--json]
       spool dlq drop <taskId> [--agent A] [--json]

The dead-letter view: tasks that ended "failed" (a terminal model error, retries used up,
a deadline, a crash loop, a poison message) and were neither retried nor dropped, as the
coordinator folds them from the agents' histories, and keyed instances' (shown as
<agent>/<key> <taskId>; --json adds "key"), read here: the instances whose tasks' latest
result is failed, each restored from its snapshot and history.

  retry        publishes {"type": "retry", "taskId"} on spool.control.<agent> (a keyed
               instance's: spool.control.<agent>.<key>, which activates it if passivated):
               the task runs again as a new attempt of the same id, its journal kept; its
               new result follows the failed one on spool.results.<agent>[.<key>].<taskId>
  drop         publishes {"type": "drop", "taskId"}: removes it from the view
  --agent A    the task's agent, or <agent>/<key> (default: found in the view; needed when
               the same task id failed on two keys)
  --json       print JSON (the report, or the control message sent)`,
  approve: `Usage: spool approve <taskId> [--agent A] [--json]

Publishes {"type": "approve", "taskId"} on spool.control.<agent>. A task waits for an operator
when a tool it calls requires approval, or when a non-idempotent tool was interrupted by a
crash (it may have taken effect). Approving runs the waiting calls (again). spool status lists
what waits.

  --agent A    the task's agent (default: ask the coordinator)`,
  deny: `Usage: spool deny <taskId> --reason R [--agent A] [--json]

Publishes {"type": "deny", "taskId", "reason"} on spool.control.<agent>: the waiting tool calls
fail, and the model reads the reason in their results and carries on without them.

  --reason R   why (required; the model is told)
  --agent A    the task's agent (default: ask the coordinator)`,
  status: `Usage: spool status [--json] [--timeout SEC]

Asks the coordinator (spool.api.status) for each agent's status (idle, working), who
holds it, tasks in flight, queued tasks, counts, and tasks waiting for an approval or for
a delegated sub-task; each pool with its shared inbox and its replicas; spend today per
agent against its daily budget (budget.dailyCostUsd), and each shared rate limit (limits)
with its burst in use, the calls waiting in every process and a pause after a 429; the
workflows running, with each step's tasks done/total and attempts, and the last 5 finished.

  --json         print the status report as JSON
  --timeout SEC  how long to wait for the coordinator (default 3)`,
};
