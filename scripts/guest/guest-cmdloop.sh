#!/bin/sh
# Guest side: the command channel on the second serial port (ttyS1, a unix socket
# on the host). The host sends lines "@@CMD <id> <base64 script>"; the script runs
# with sh, its output (stdout and stderr) is sent back, then "@@RC <id> <status>".
# Anything else on the line is ignored (a partial line sent before this loop ran).
export PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin
dev=/dev/ttyS1
stty -F $dev raw -echo -echoe -echok -echoctl -echoke 2>/dev/null || stty -F $dev raw -echo
exec 3<>$dev
while IFS= read -r line <&3; do
    case $line in "@@CMD "*) ;; *) continue ;; esac
    set -- $line
    id=$2
    printf '%s\n' "$3" | base64 -d > /tmp/.cmd.$id 2>/dev/null
    sh /tmp/.cmd.$id </dev/null >/tmp/.out.$id 2>&1
    rc=$?
    cat /tmp/.out.$id >&3
    printf '\n@@RC %s %s\n' "$id" "$rc" >&3
    rm -f /tmp/.cmd.$id /tmp/.out.$id
done
