# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sandbox_global_optspecs
    string join \n f/file= name= context= h/help V/version
end

function __fish_sandbox_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sandbox_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sandbox_using_subcommand
    set -l cmd (__fish_sandbox_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sandbox -n "__fish_sandbox_needs_command" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_needs_command" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_needs_command" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_needs_command" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_needs_command" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "up" -d 'Build, start and wait until every entry is healthy'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "down" -d 'Remove every container, network and volume of the sandbox'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "env" -d 'The environment an entry gets (host URLs with --host), for IDEs and shells'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "status" -d 'Entries, state, health and host URLs'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "ps" -d 'Entries, state, health and host URLs'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "logs" -d 'Logs of the sandbox\'s entries, prefixed with the entry name'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "exec" -d 'Run a command in an entry\'s container'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "shell" -d 'Open a shell in an entry\'s container'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "registry" -d 'What the sandbox\'s registry answers'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "calls" -d 'The call journal: every call to a stubbed, replayed or recorded dependency'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "traces" -d 'Recent traces across entries, or one trace as a tree'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "ui" -d 'Print the dashboard\'s URL (`--open` opens a browser on it)'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "check" -d 'Run the manifest\'s semantic checks against the running sandbox'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "run" -d 'Bring the sandbox up, run a command against it, tear it down'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "debug" -d 'Restart an entry with its debug settings and print how to attach'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "faults" -d 'Change the faults of a running dependency'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "limits" -d 'Change the limits of a running dependency'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "validate" -d 'Check the manifest; start nothing'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "schema" -d 'Print the manifest\'s JSON Schema (or a recording\'s)'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "init" -d 'Write a commented starter sandbox.yaml'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "import" -d 'Write a sandbox.yaml from what a team already has (a Compose file)'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "convert" -d 'Turn a recording into a HAR file and back (by the files\' extensions)'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "agent" -d 'Serve stubs, recordings, proxies and the registry inside a sandbox'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "forward" -d 'Forward a sandbox\'s published ports from a remote engine to 127.0.0.1'
complete -c sandbox -n "__fish_sandbox_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l record -d 'Switch a dependency to recording: `DEP` (a record dependency) or `DEP=URL` (a replay dependency, recorded from URL into its file)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l timeout -d 'Give up waiting for health after this long (e.g. `90s`); default: each entry\'s own `health.timeout`, else 60s' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l host -d 'Run these entries (default: the service) as processes on this machine, with `host.command`, or wait for you to start them (from an IDE); stays in the foreground until Ctrl-C' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l debug -d 'Start the service with its debug settings'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l keep -d 'Leave what was started in place when `up` fails'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l json -d 'Print the status document as JSON once every entry is healthy'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -l watch -d 'Stay in the foreground: stream every entry\'s logs and apply the manifest\'s `watch` rules when files change (rebuild, sync, restart; by default a `build:` entry rebuilds on any change in its context). Ctrl-C stops watching; the sandbox stays up'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand up" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -l all -d 'Remove every sandbox on the engine'
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -l json -d 'Print what was removed as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand down" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -l format -d 'How to print it' -r -f -a "dotenv\t'`KEY=value` lines, as `.env` files and IDE run settings read them'
shell\t'`export KEY=\'value\'` lines for a POSIX shell (`eval "$(sandbox env --format shell)"`)'
json\t'One JSON object'"
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -l host -d 'As a process on this machine gets it: host URLs of the running sandbox'
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -l json -d 'The same as `--format json`'
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sandbox -n "__fish_sandbox_using_subcommand env" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -l json -d 'Print the status document as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand status" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -l json -d 'Print the status document as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand ps" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -l tail -d 'Only the last N lines of each entry' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -s f -l follow -d 'Keep following new lines'
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand logs" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand exec" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand exec" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand exec" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand exec" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand exec" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -l shell -d 'The shell to run' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand shell" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -l json -d 'Print the registry\'s answer as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand registry" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -s f -l follow -d 'Keep printing new calls'
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -l json -d 'Print the journal as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -l wide -d 'Show whole times, paths and traceparents (lines may exceed 80 columns)'
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand calls" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -l json -d 'Print the registry\'s JSON (`/traces` or `/traces/{id}`)'
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand traces" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -l open -d 'Open it in a browser too ($BROWSER, else xdg-open); a browser that cannot be started is a warning, not an error'
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand ui" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -l contract -d 'Also check answers against the OpenAPI documents entries declare: stub routes, recordings and the checks\' live answers'
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -l json -d 'Print the results as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand check" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -l timeout -d 'Give up waiting for health after this long' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -l keep -d 'Leave the sandbox up after the command ends'
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand run" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -l stop -d 'Return the entry to its normal settings'
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -l json -d 'Print how to attach as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand debug" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l latency -d 'Added before each answer, e.g. `200ms`' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l jitter -d 'Random extra latency, up to this much' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l error-rate -d 'Share of answers replaced by an error, 0..1' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l error-status -d 'Status of injected errors' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l reset-rate -d 'Share of connections dropped, 0..1' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l bandwidth -d 'Bytes per second of each answer, e.g. `64KiB/s`' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l seed -d 'Seed for reproducible randomness' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l clear -d 'Remove every fault'
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -l json -d 'Print the faults in force as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand faults" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l rate -d 'Requests per unit of time, e.g. `10/s`' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l burst -d 'Requests allowed at once above the rate' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l concurrency -d 'Requests in flight at once' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l per-caller -d 'Count each caller separately (`true`) or all together (`false`)' -r -f -a "true\t''
false\t''"
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l clear -d 'Remove every limit'
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -l json -d 'Print the limits in force as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand limits" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -s f -l file -d 'The manifest to use (default: ./sandbox.yaml)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -l json -d 'Print the result as JSON'
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand validate" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -l recording -d 'The schema of a recording file (what `record` writes and `replay` reads) instead of the manifest\'s'
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand schema" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -l force -d 'Overwrite an existing file'
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand init" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -f -a "compose" -d 'Write a manifest from a Compose file'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and not __fish_seen_subcommand_from compose help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -l service -d 'The service under work (default: the one no other service depends on)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -s o -l output -d 'Write the manifest to this file (a folder: its sandbox.yaml) instead of stdout' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -l force -d 'Overwrite the output file when it exists'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from compose" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "compose" -d 'Write a manifest from a Compose file'
complete -c sandbox -n "__fish_sandbox_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -l force -d 'Replace OUT when it exists'
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand convert" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand completions" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand completions" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand completions" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand completions" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand completions" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -l config -d 'The agent\'s configuration (JSON)' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -l mux -d 'Carry connections into the sandbox network over stdin and stdout (the forwarder of a remote engine runs this; see `agent::pipe`)'
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand agent" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand forward" -s f -l file -d 'The manifest to use' -r -F
complete -c sandbox -n "__fish_sandbox_using_subcommand forward" -l name -d 'Run or address a copy of the sandbox under another name' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand forward" -l context -d 'The docker context whose engine to use (default: as the docker CLI chooses)' -r
complete -c sandbox -n "__fish_sandbox_using_subcommand forward" -s h -l help -d 'Print help'
complete -c sandbox -n "__fish_sandbox_using_subcommand forward" -s V -l version -d 'Print version'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "up" -d 'Build, start and wait until every entry is healthy'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "down" -d 'Remove every container, network and volume of the sandbox'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "env" -d 'The environment an entry gets (host URLs with --host), for IDEs and shells'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "status" -d 'Entries, state, health and host URLs'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "logs" -d 'Logs of the sandbox\'s entries, prefixed with the entry name'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "exec" -d 'Run a command in an entry\'s container'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "shell" -d 'Open a shell in an entry\'s container'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "registry" -d 'What the sandbox\'s registry answers'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "calls" -d 'The call journal: every call to a stubbed, replayed or recorded dependency'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "traces" -d 'Recent traces across entries, or one trace as a tree'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "ui" -d 'Print the dashboard\'s URL (`--open` opens a browser on it)'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "check" -d 'Run the manifest\'s semantic checks against the running sandbox'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "run" -d 'Bring the sandbox up, run a command against it, tear it down'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "debug" -d 'Restart an entry with its debug settings and print how to attach'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "faults" -d 'Change the faults of a running dependency'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "limits" -d 'Change the limits of a running dependency'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "validate" -d 'Check the manifest; start nothing'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "schema" -d 'Print the manifest\'s JSON Schema (or a recording\'s)'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "init" -d 'Write a commented starter sandbox.yaml'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "import" -d 'Write a sandbox.yaml from what a team already has (a Compose file)'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "convert" -d 'Turn a recording into a HAR file and back (by the files\' extensions)'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "completions" -d 'Print shell completions'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "agent" -d 'Serve stubs, recordings, proxies and the registry inside a sandbox'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "forward" -d 'Forward a sandbox\'s published ports from a remote engine to 127.0.0.1'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and not __fish_seen_subcommand_from up down env status logs exec shell registry calls traces ui check run debug faults limits validate schema init import convert completions agent forward help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sandbox -n "__fish_sandbox_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "compose" -d 'Write a manifest from a Compose file'
