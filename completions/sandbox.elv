
use builtin;
use str;

set edit:completion:arg-completer[sandbox] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'sandbox'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'sandbox'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand up 'Build, start and wait until every entry is healthy'
            cand down 'Remove every container, network and volume of the sandbox'
            cand env 'The environment an entry gets (host URLs with --host), for IDEs and shells'
            cand status 'Entries, state, health and host URLs'
            cand ps 'Entries, state, health and host URLs'
            cand logs 'Logs of the sandbox''s entries, prefixed with the entry name'
            cand exec 'Run a command in an entry''s container'
            cand shell 'Open a shell in an entry''s container'
            cand registry 'What the sandbox''s registry answers'
            cand calls 'The call journal: every call to a stubbed, replayed or recorded dependency'
            cand traces 'Recent traces across entries, or one trace as a tree'
            cand ui 'Print the dashboard''s URL (`--open` opens a browser on it)'
            cand check 'Run the manifest''s semantic checks against the running sandbox'
            cand run 'Bring the sandbox up, run a command against it, tear it down'
            cand debug 'Restart an entry with its debug settings and print how to attach'
            cand faults 'Change the faults of a running dependency'
            cand limits 'Change the limits of a running dependency'
            cand validate 'Check the manifest; start nothing'
            cand schema 'Print the manifest''s JSON Schema (or a recording''s)'
            cand init 'Write a commented starter sandbox.yaml'
            cand import 'Write a sandbox.yaml from what a team already has (a Compose file)'
            cand convert 'Turn a recording into a HAR file and back (by the files'' extensions)'
            cand completions 'Print shell completions'
            cand agent 'Serve stubs, recordings, proxies and the registry inside a sandbox'
            cand forward 'Forward a sandbox''s published ports from a remote engine to 127.0.0.1'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sandbox;up'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --record 'Switch a dependency to recording: `DEP` (a record dependency) or `DEP=URL` (a replay dependency, recorded from URL into its file)'
            cand --timeout 'Give up waiting for health after this long (e.g. `90s`); default: each entry''s own `health.timeout`, else 60s'
            cand --host 'Run these entries (default: the service) as processes on this machine, with `host.command`, or wait for you to start them (from an IDE); stays in the foreground until Ctrl-C'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --debug 'Start the service with its debug settings'
            cand --keep 'Leave what was started in place when `up` fails'
            cand --json 'Print the status document as JSON once every entry is healthy'
            cand --watch 'Stay in the foreground: stream every entry''s logs and apply the manifest''s `watch` rules when files change (rebuild, sync, restart; by default a `build:` entry rebuilds on any change in its context). Ctrl-C stops watching; the sandbox stays up'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;down'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --all 'Remove every sandbox on the engine'
            cand --json 'Print what was removed as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;env'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --format 'How to print it'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --host 'As a process on this machine gets it: host URLs of the running sandbox'
            cand --json 'The same as `--format json`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;status'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --json 'Print the status document as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;ps'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --json 'Print the status document as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;logs'= {
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --tail 'Only the last N lines of each entry'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -f 'Keep following new lines'
            cand --follow 'Keep following new lines'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;exec'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;shell'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --shell 'The shell to run'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;registry'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --json 'Print the registry''s answer as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;calls'= {
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -f 'Keep printing new calls'
            cand --follow 'Keep printing new calls'
            cand --json 'Print the journal as JSON'
            cand --wide 'Show whole times, paths and traceparents (lines may exceed 80 columns)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;traces'= {
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --json 'Print the registry''s JSON (`/traces` or `/traces/{id}`)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;ui'= {
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --open 'Open it in a browser too ($BROWSER, else xdg-open); a browser that cannot be started is a warning, not an error'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;check'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --contract 'Also check answers against the OpenAPI documents entries declare: stub routes, recordings and the checks'' live answers'
            cand --json 'Print the results as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;run'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --timeout 'Give up waiting for health after this long'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --keep 'Leave the sandbox up after the command ends'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;debug'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --stop 'Return the entry to its normal settings'
            cand --json 'Print how to attach as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;faults'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --latency 'Added before each answer, e.g. `200ms`'
            cand --jitter 'Random extra latency, up to this much'
            cand --error-rate 'Share of answers replaced by an error, 0..1'
            cand --error-status 'Status of injected errors'
            cand --reset-rate 'Share of connections dropped, 0..1'
            cand --bandwidth 'Bytes per second of each answer, e.g. `64KiB/s`'
            cand --seed 'Seed for reproducible randomness'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --clear 'Remove every fault'
            cand --json 'Print the faults in force as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;limits'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --rate 'Requests per unit of time, e.g. `10/s`'
            cand --burst 'Requests allowed at once above the rate'
            cand --concurrency 'Requests in flight at once'
            cand --per-caller 'Count each caller separately (`true`) or all together (`false`)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --clear 'Remove every limit'
            cand --json 'Print the limits in force as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;validate'= {
            cand -f 'The manifest to use (default: ./sandbox.yaml)'
            cand --file 'The manifest to use (default: ./sandbox.yaml)'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --json 'Print the result as JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;schema'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --recording 'The schema of a recording file (what `record` writes and `replay` reads) instead of the manifest''s'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;init'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --force 'Overwrite an existing file'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;import'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand compose 'Write a manifest from a Compose file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sandbox;import;compose'= {
            cand --service 'The service under work (default: the one no other service depends on)'
            cand -o 'Write the manifest to this file (a folder: its sandbox.yaml) instead of stdout'
            cand --output 'Write the manifest to this file (a folder: its sandbox.yaml) instead of stdout'
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --force 'Overwrite the output file when it exists'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;import;help'= {
            cand compose 'Write a manifest from a Compose file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sandbox;import;help;compose'= {
        }
        &'sandbox;import;help;help'= {
        }
        &'sandbox;convert'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --force 'Replace OUT when it exists'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;completions'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;agent'= {
            cand --config 'The agent''s configuration (JSON)'
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand --mux 'Carry connections into the sandbox network over stdin and stdout (the forwarder of a remote engine runs this; see `agent::pipe`)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;forward'= {
            cand -f 'The manifest to use'
            cand --file 'The manifest to use'
            cand --name 'Run or address a copy of the sandbox under another name'
            cand --context 'The docker context whose engine to use (default: as the docker CLI chooses)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sandbox;help'= {
            cand up 'Build, start and wait until every entry is healthy'
            cand down 'Remove every container, network and volume of the sandbox'
            cand env 'The environment an entry gets (host URLs with --host), for IDEs and shells'
            cand status 'Entries, state, health and host URLs'
            cand logs 'Logs of the sandbox''s entries, prefixed with the entry name'
            cand exec 'Run a command in an entry''s container'
            cand shell 'Open a shell in an entry''s container'
            cand registry 'What the sandbox''s registry answers'
            cand calls 'The call journal: every call to a stubbed, replayed or recorded dependency'
            cand traces 'Recent traces across entries, or one trace as a tree'
            cand ui 'Print the dashboard''s URL (`--open` opens a browser on it)'
            cand check 'Run the manifest''s semantic checks against the running sandbox'
            cand run 'Bring the sandbox up, run a command against it, tear it down'
            cand debug 'Restart an entry with its debug settings and print how to attach'
            cand faults 'Change the faults of a running dependency'
            cand limits 'Change the limits of a running dependency'
            cand validate 'Check the manifest; start nothing'
            cand schema 'Print the manifest''s JSON Schema (or a recording''s)'
            cand init 'Write a commented starter sandbox.yaml'
            cand import 'Write a sandbox.yaml from what a team already has (a Compose file)'
            cand convert 'Turn a recording into a HAR file and back (by the files'' extensions)'
            cand completions 'Print shell completions'
            cand agent 'Serve stubs, recordings, proxies and the registry inside a sandbox'
            cand forward 'Forward a sandbox''s published ports from a remote engine to 127.0.0.1'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sandbox;help;up'= {
        }
        &'sandbox;help;down'= {
        }
        &'sandbox;help;env'= {
        }
        &'sandbox;help;status'= {
        }
        &'sandbox;help;logs'= {
        }
        &'sandbox;help;exec'= {
        }
        &'sandbox;help;shell'= {
        }
        &'sandbox;help;registry'= {
        }
        &'sandbox;help;calls'= {
        }
        &'sandbox;help;traces'= {
        }
        &'sandbox;help;ui'= {
        }
        &'sandbox;help;check'= {
        }
        &'sandbox;help;run'= {
        }
        &'sandbox;help;debug'= {
        }
        &'sandbox;help;faults'= {
        }
        &'sandbox;help;limits'= {
        }
        &'sandbox;help;validate'= {
        }
        &'sandbox;help;schema'= {
        }
        &'sandbox;help;init'= {
        }
        &'sandbox;help;import'= {
            cand compose 'Write a manifest from a Compose file'
        }
        &'sandbox;help;import;compose'= {
        }
        &'sandbox;help;convert'= {
        }
        &'sandbox;help;completions'= {
        }
        &'sandbox;help;agent'= {
        }
        &'sandbox;help;forward'= {
        }
        &'sandbox;help;help'= {
        }
    ]
    $completions[$command]
}
