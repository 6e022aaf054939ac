#!/bin/sh
# Remote agent for mpirun (--mca plm_rsh_agent): runs the launcher's command in the network namespace
# that stands for the named host, where ssh would have run it on another machine.
#
# usage (by mpirun): netns_agent.sh [options...] HOST COMMAND...
# TESSERA_NETNS_HOSTS maps host names to namespaces: "hostA=ns1 hostB=ns2". mpirun passes the remote
# command as words that ssh would join and hand to a shell, so they are joined and run by sh -c here.
# Each host also gets its own UTS namespace and hostname, so OpenMPI sees distinct nodes (session
# folders and PMIx rendezvous files are named after the host) as it would on real machines.
set -eu

while [ $# -gt 0 ]; do
  case "$1" in
    -*) shift ;;  # ssh-style options mpirun may add; nothing to do without ssh
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  echo "netns_agent: usage: netns_agent.sh HOST COMMAND..." >&2
  exit 2
fi
host=$1
shift

ns=
for pair in ${TESSERA_NETNS_HOSTS:-}; do
  if [ "${pair%%=*}" = "$host" ]; then ns=${pair#*=}; fi
done
if [ -z "$ns" ]; then
  echo "netns_agent: host '$host' is not in TESSERA_NETNS_HOSTS ('${TESSERA_NETNS_HOSTS:-}')" >&2
  exit 255
fi

# What ssh would not carry but a root CI container needs on every host: OpenMPI refuses root otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# The inner script sees the host as $1 and the command as the rest (single quotes: expanded there, not here).
# shellcheck disable=SC2016
exec ip netns exec "$ns" unshare --uts sh -c 'hostname "$1" && shift && exec sh -c "$*"' netns_agent "$host" "$@"
