# What the benchmarks' run scripts share; sourced by bench/*/run after they
# set `bench_name` (bench/mq, ...), which prefixes their messages.
#
# Sets `root` (the workspace) and `venv` (bench/.venv, shared by the three
# benchmarks with a Python peer), and defines:
#   say MESSAGE...                 a line on stderr, prefixed [bench_name]
#   ensure_python_package MODULE DISTRIBUTION VERSION
#                                  DISTRIBUTION==VERSION in $venv (created on
#                                  first use), unless MODULE already imports
#                                  at that version; the other packages stay
#   start_broker                   a broker container from $RABBITMQ_IMAGE on
#                                  a random local port; sets `broker` once
#                                  "Server startup complete" is logged
#   remove_broker                  removes that container, if any
#   kill_from_pid_files DIR NAME   kills the pids written in files called
#                                  NAME (a find -name pattern) under DIR

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=$root/bench/.venv
broker=""
broker_startup_timeout=60

say() { printf '[%s] %s\n' "$bench_name" "$*" >&2; }

ensure_python_package() {
    local module=$1 distribution=$2 version=$3
    if "$venv/bin/python" -c "import $module, sys; sys.exit($module.__version__ != '$version')" 2>/dev/null; then
        return
    fi
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $venv"
        python3 -m venv "$venv"
    fi
    say "installing $distribution==$version into $venv"
    "$venv/bin/pip" install -q "$distribution==$version" >&2
}

start_broker() {
    say "starting a broker from $RABBITMQ_IMAGE"
    broker=$(docker run -d --rm -p 127.0.0.1::5672 "$RABBITMQ_IMAGE")
    local deadline=$((SECONDS + broker_startup_timeout))
    until docker logs "$broker" 2>&1 | grep -q 'Server startup complete'; do
        if ((SECONDS > deadline)); then
            say "the broker did not start within ${broker_startup_timeout}s; its log:"
            docker logs "$broker" 2>&1 | tail -n 30 >&2
            exit 1
        fi
        sleep 0.5
    done
}

remove_broker() {
    if [ -n "$broker" ]; then
        docker rm -f "$broker" >/dev/null 2>&1 || true
    fi
}

kill_from_pid_files() {
    local pid_file
    while IFS= read -r pid_file; do
        kill "$(cat "$pid_file")" 2>/dev/null || true
    done < <(find "$1" -name "$2")
}
