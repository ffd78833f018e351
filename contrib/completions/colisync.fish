# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_colisync_global_optspecs
    string join \n config= log-format= h/help V/version
end

function __fish_colisync_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_colisync_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_colisync_using_subcommand
    set -l cmd (__fish_colisync_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c colisync -n "__fish_colisync_needs_command" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_needs_command" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_needs_command" -s V -l version -d 'Print version'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "run" -d 'Run the daemon: a pass on every tick of daemon.schedule, until SIGTERM (SIGHUP reloads the configuration)'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "once" -d 'Run one pass now and exit'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "check-config" -d 'Validate the configuration and print what colisync understood'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "explain" -d 'Explain why an order has (or has not) a card, without touching the state: fetch the order and its parcels and judge them now'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "advise" -d 'Say, in French, what each procedure says for an order today (delay, address change, lost parcel, return), with the dates computed, for an agent answering the customer. Needs no state'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "case" -d 'Open a case for the team, for an order without a colisync card to put a label on: the request goes to cases.inbox_dir and the daemon files its card in the cases list at its next pass. Opens neither the state nor any network connection; reads only [cases] of the file'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "calendar" -d 'Print the French public holidays of YEAR; with --config, also the configured extra closed days and re-opened days'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "demo" -d 'A whole pass against built-in fake Magento, La Poste and Trello services and a sample shop: no account needed'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "bench" -d 'Measure a pass over a large generated shop against the fakes'
complete -c colisync -n "__fish_colisync_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c colisync -n "__fish_colisync_using_subcommand run" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand run" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand once" -l now -d 'Judge as if it were this instant, e.g. 2026-05-19T10:00:00+02:00' -r
complete -c colisync -n "__fish_colisync_using_subcommand once" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand once" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand once" -l dry-run -d 'Print the plan (cards to create, update, resolve) without writing to Trello or the state'
complete -c colisync -n "__fish_colisync_using_subcommand once" -l reset-clock -d 'Forget the instant of the last pass that wrote to the board, so that this pass may write although it is earlier: after a pass run by mistake with a `--now` in the future, or a clock that was set ahead. Cards already written at the later instant are rewritten'
complete -c colisync -n "__fish_colisync_using_subcommand once" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand check-config" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand check-config" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand check-config" -l online -d 'Then try each service with the real credentials, read only, and exit 0 only when everything a pass needs works'
complete -c colisync -n "__fish_colisync_using_subcommand check-config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand explain" -l now -d 'Judge as if it were this instant (RFC 3339)' -r
complete -c colisync -n "__fish_colisync_using_subcommand explain" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand explain" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand advise" -l now -d 'Advise as if it were this instant (RFC 3339)' -r
complete -c colisync -n "__fish_colisync_using_subcommand advise" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand advise" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand advise" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand case" -l parcel -d 'The parcel concerned (its tracking number), for a lost parcel; by default the order\'s last parcel' -r
complete -c colisync -n "__fish_colisync_using_subcommand case" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand case" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand case" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand calendar" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand calendar" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand calendar" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand demo" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand demo" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l scenario -d '`judge`, `backfill`, `first`, `idle`, or `all` (the judge over 100,000 orders, then 250-card backfills at 0 and 150 ms a Trello answer). `first` runs a first pass over each shop of --shops on an empty state, `idle` that pass then a second with nothing changed, each pass a child `colisync once`' -r -f -a "all\t''
judge\t''
backfill\t''
first\t''
idle\t''"
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l shops -d 'Orders within lookback_days of each shop of the first and idle scenarios (1,000 of them open, the rest delivered)' -r
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l orders -d 'Open orders of the judge scenario' -r
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l cards -d 'Cards to file in the backfill scenario' -r
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l latency-ms -d 'How long the Trello fake holds back each answer (backfill)' -r
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l config -d 'Configuration file [default: /etc/colisync/config.toml]' -r -F
complete -c colisync -n "__fish_colisync_using_subcommand bench" -l log-format -d 'How logs are written to stderr: text (no timestamps under the journal) or json (one object a line, with the pass id) [default: daemon.log_format of the configuration, else text]' -r -f -a "text\t'`key=value` lines (no timestamp under the journal)'
json\t'One JSON object per line'"
complete -c colisync -n "__fish_colisync_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "run" -d 'Run the daemon: a pass on every tick of daemon.schedule, until SIGTERM (SIGHUP reloads the configuration)'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "once" -d 'Run one pass now and exit'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "check-config" -d 'Validate the configuration and print what colisync understood'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "explain" -d 'Explain why an order has (or has not) a card, without touching the state: fetch the order and its parcels and judge them now'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "advise" -d 'Say, in French, what each procedure says for an order today (delay, address change, lost parcel, return), with the dates computed, for an agent answering the customer. Needs no state'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "case" -d 'Open a case for the team, for an order without a colisync card to put a label on: the request goes to cases.inbox_dir and the daemon files its card in the cases list at its next pass. Opens neither the state nor any network connection; reads only [cases] of the file'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "calendar" -d 'Print the French public holidays of YEAR; with --config, also the configured extra closed days and re-opened days'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "demo" -d 'A whole pass against built-in fake Magento, La Poste and Trello services and a sample shop: no account needed'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "bench" -d 'Measure a pass over a large generated shop against the fakes'
complete -c colisync -n "__fish_colisync_using_subcommand help; and not __fish_seen_subcommand_from run once check-config explain advise case calendar demo bench help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
