
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sandbox' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sandbox'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sandbox' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Build, start and wait until every entry is healthy')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove every container, network and volume of the sandbox')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'The environment an entry gets (host URLs with --host), for IDEs and shells')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Entries, state, health and host URLs')
            [CompletionResult]::new('ps', 'ps', [CompletionResultType]::ParameterValue, 'Entries, state, health and host URLs')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Logs of the sandbox''s entries, prefixed with the entry name')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in an entry''s container')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Open a shell in an entry''s container')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'What the sandbox''s registry answers')
            [CompletionResult]::new('calls', 'calls', [CompletionResultType]::ParameterValue, 'The call journal: every call to a stubbed, replayed or recorded dependency')
            [CompletionResult]::new('traces', 'traces', [CompletionResultType]::ParameterValue, 'Recent traces across entries, or one trace as a tree')
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Print the dashboard''s URL (`--open` opens a browser on it)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Run the manifest''s semantic checks against the running sandbox')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Bring the sandbox up, run a command against it, tear it down')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Restart an entry with its debug settings and print how to attach')
            [CompletionResult]::new('faults', 'faults', [CompletionResultType]::ParameterValue, 'Change the faults of a running dependency')
            [CompletionResult]::new('limits', 'limits', [CompletionResultType]::ParameterValue, 'Change the limits of a running dependency')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the manifest; start nothing')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the manifest''s JSON Schema (or a recording''s)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter sandbox.yaml')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Write a sandbox.yaml from what a team already has (a Compose file)')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Turn a recording into a HAR file and back (by the files'' extensions)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Serve stubs, recordings, proxies and the registry inside a sandbox')
            [CompletionResult]::new('forward', 'forward', [CompletionResultType]::ParameterValue, 'Forward a sandbox''s published ports from a remote engine to 127.0.0.1')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sandbox;up' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Switch a dependency to recording: `DEP` (a record dependency) or `DEP=URL` (a replay dependency, recorded from URL into its file)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up waiting for health after this long (e.g. `90s`); default: each entry''s own `health.timeout`, else 60s')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Run these entries (default: the service) as processes on this machine, with `host.command`, or wait for you to start them (from an IDE); stays in the foreground until Ctrl-C')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Start the service with its debug settings')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Leave what was started in place when `up` fails')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the status document as JSON once every entry is healthy')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Stay in the foreground: stream every entry''s logs and apply the manifest''s `watch` rules when files change (rebuild, sync, restart; by default a `build:` entry rebuilds on any change in its context). Ctrl-C stops watching; the sandbox stays up')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;down' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Remove every sandbox on the engine')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print what was removed as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;env' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print it')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'As a process on this machine gets it: host URLs of the running sandbox')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'The same as `--format json`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;status' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the status document as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;ps' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the status document as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;logs' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Only the last N lines of each entry')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep following new lines')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep following new lines')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;exec' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;shell' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'The shell to run')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;registry' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the registry''s answer as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;calls' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing new calls')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing new calls')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the journal as JSON')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show whole times, paths and traceparents (lines may exceed 80 columns)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;traces' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the registry''s JSON (`/traces` or `/traces/{id}`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;ui' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Open it in a browser too ($BROWSER, else xdg-open); a browser that cannot be started is a warning, not an error')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;check' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--contract', '--contract', [CompletionResultType]::ParameterName, 'Also check answers against the OpenAPI documents entries declare: stub routes, recordings and the checks'' live answers')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the results as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;run' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up waiting for health after this long')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Leave the sandbox up after the command ends')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;debug' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Return the entry to its normal settings')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print how to attach as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;faults' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--latency', '--latency', [CompletionResultType]::ParameterName, 'Added before each answer, e.g. `200ms`')
            [CompletionResult]::new('--jitter', '--jitter', [CompletionResultType]::ParameterName, 'Random extra latency, up to this much')
            [CompletionResult]::new('--error-rate', '--error-rate', [CompletionResultType]::ParameterName, 'Share of answers replaced by an error, 0..1')
            [CompletionResult]::new('--error-status', '--error-status', [CompletionResultType]::ParameterName, 'Status of injected errors')
            [CompletionResult]::new('--reset-rate', '--reset-rate', [CompletionResultType]::ParameterName, 'Share of connections dropped, 0..1')
            [CompletionResult]::new('--bandwidth', '--bandwidth', [CompletionResultType]::ParameterName, 'Bytes per second of each answer, e.g. `64KiB/s`')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for reproducible randomness')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--clear', '--clear', [CompletionResultType]::ParameterName, 'Remove every fault')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the faults in force as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;limits' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Requests per unit of time, e.g. `10/s`')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'Requests allowed at once above the rate')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--per-caller', '--per-caller', [CompletionResultType]::ParameterName, 'Count each caller separately (`true`) or all together (`false`)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--clear', '--clear', [CompletionResultType]::ParameterName, 'Remove every limit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the limits in force as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;validate' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use (default: ./sandbox.yaml)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the result as JSON')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;schema' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--recording', '--recording', [CompletionResultType]::ParameterName, 'The schema of a recording file (what `record` writes and `replay` reads) instead of the manifest''s')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;init' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;import' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('compose', 'compose', [CompletionResultType]::ParameterValue, 'Write a manifest from a Compose file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sandbox;import;compose' {
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'The service under work (default: the one no other service depends on)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the manifest to this file (a folder: its sandbox.yaml) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the manifest to this file (a folder: its sandbox.yaml) instead of stdout')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite the output file when it exists')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;import;help' {
            [CompletionResult]::new('compose', 'compose', [CompletionResultType]::ParameterValue, 'Write a manifest from a Compose file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sandbox;import;help;compose' {
            break
        }
        'sandbox;import;help;help' {
            break
        }
        'sandbox;convert' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUT when it exists')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;completions' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;agent' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The agent''s configuration (JSON)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('--mux', '--mux', [CompletionResultType]::ParameterName, 'Carry connections into the sandbox network over stdin and stdout (the forwarder of a remote engine runs this; see `agent::pipe`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;forward' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The manifest to use')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Run or address a copy of the sandbox under another name')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The docker context whose engine to use (default: as the docker CLI chooses)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sandbox;help' {
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Build, start and wait until every entry is healthy')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove every container, network and volume of the sandbox')
            [CompletionResult]::new('env', 'env', [CompletionResultType]::ParameterValue, 'The environment an entry gets (host URLs with --host), for IDEs and shells')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Entries, state, health and host URLs')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'Logs of the sandbox''s entries, prefixed with the entry name')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in an entry''s container')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Open a shell in an entry''s container')
            [CompletionResult]::new('registry', 'registry', [CompletionResultType]::ParameterValue, 'What the sandbox''s registry answers')
            [CompletionResult]::new('calls', 'calls', [CompletionResultType]::ParameterValue, 'The call journal: every call to a stubbed, replayed or recorded dependency')
            [CompletionResult]::new('traces', 'traces', [CompletionResultType]::ParameterValue, 'Recent traces across entries, or one trace as a tree')
            [CompletionResult]::new('ui', 'ui', [CompletionResultType]::ParameterValue, 'Print the dashboard''s URL (`--open` opens a browser on it)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Run the manifest''s semantic checks against the running sandbox')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Bring the sandbox up, run a command against it, tear it down')
            [CompletionResult]::new('debug', 'debug', [CompletionResultType]::ParameterValue, 'Restart an entry with its debug settings and print how to attach')
            [CompletionResult]::new('faults', 'faults', [CompletionResultType]::ParameterValue, 'Change the faults of a running dependency')
            [CompletionResult]::new('limits', 'limits', [CompletionResultType]::ParameterValue, 'Change the limits of a running dependency')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the manifest; start nothing')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the manifest''s JSON Schema (or a recording''s)')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter sandbox.yaml')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Write a sandbox.yaml from what a team already has (a Compose file)')
            [CompletionResult]::new('convert', 'convert', [CompletionResultType]::ParameterValue, 'Turn a recording into a HAR file and back (by the files'' extensions)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Serve stubs, recordings, proxies and the registry inside a sandbox')
            [CompletionResult]::new('forward', 'forward', [CompletionResultType]::ParameterValue, 'Forward a sandbox''s published ports from a remote engine to 127.0.0.1')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sandbox;help;up' {
            break
        }
        'sandbox;help;down' {
            break
        }
        'sandbox;help;env' {
            break
        }
        'sandbox;help;status' {
            break
        }
        'sandbox;help;logs' {
            break
        }
        'sandbox;help;exec' {
            break
        }
        'sandbox;help;shell' {
            break
        }
        'sandbox;help;registry' {
            break
        }
        'sandbox;help;calls' {
            break
        }
        'sandbox;help;traces' {
            break
        }
        'sandbox;help;ui' {
            break
        }
        'sandbox;help;check' {
            break
        }
        'sandbox;help;run' {
            break
        }
        'sandbox;help;debug' {
            break
        }
        'sandbox;help;faults' {
            break
        }
        'sandbox;help;limits' {
            break
        }
        'sandbox;help;validate' {
            break
        }
        'sandbox;help;schema' {
            break
        }
        'sandbox;help;init' {
            break
        }
        'sandbox;help;import' {
            [CompletionResult]::new('compose', 'compose', [CompletionResultType]::ParameterValue, 'Write a manifest from a Compose file')
            break
        }
        'sandbox;help;import;compose' {
            break
        }
        'sandbox;help;convert' {
            break
        }
        'sandbox;help;completions' {
            break
        }
        'sandbox;help;agent' {
            break
        }
        'sandbox;help;forward' {
            break
        }
        'sandbox;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
