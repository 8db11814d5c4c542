#!/usr/bin/env bash
# Restart hook of the servers record-external.sh starts: stops the instance
# NAME of the temp dir TMP (SIGTERM to the PID in its pid file, or SIGKILL for
# `crash`) and starts it again with the same command line: so with the same
# server epoch (`-E`), and the new incarnation hands out the same client ID
# and session ID values as the old one did; or, when TMP/epoch-on-restart
# says `new`, with a later epoch (the current time, at least the old epoch
# plus one), as an ordinary restart.
#
#   ext-hook.sh restart|crash TMP NAME
set -euo pipefail
action=$1 tmp=$2 name=$3
dir=$tmp/$name
pid=$(cat "$dir/ganesha.pid")
case $action in
    restart) kill -TERM "$pid" ;;
    crash) kill -KILL "$pid" ;;
    *) echo "unknown action $action" >&2; exit 2 ;;
esac
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && { echo "ganesha $pid did not stop" >&2; exit 1; }
mapfile -t argv <"$dir/cmd"
if [ "$(cat "$tmp/epoch-on-restart" 2>/dev/null)" = new ]; then
    for i in "${!argv[@]}"; do
        if [ "${argv[$i]}" = -E ]; then
            old=${argv[$((i + 1))]} now=$(date +%s)
            argv[$((i + 1))]=$(( now > old ? now : old + 1 ))
        fi
    done
    printf '%s\n' "${argv[@]}" >"$dir/cmd"
fi
setsid "${argv[@]}" >>"$dir/stdout.log" 2>&1 </dev/null &
echo $! >>"$tmp/pids"
