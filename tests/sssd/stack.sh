# SPDX-License-Identifier: Apache-2.0 OR MIT
# A FreeIPA-shaped identity stack from Debian's own packages, for
# tests/e2e_sssd.rs: an MIT KDC, OpenLDAP's slapd holding FreeIPA-style
# users and subordinate-ID entries (schema: tests/sssd/subid.schema) and
# answering SASL/GSSAPI binds, and sssd with id_provider = ipa, which serves
# the ranges through the real libsubid_sss.so.
#
# Source it as root inside private mount, network and PID namespaces whose
# /etc is already the test's overlay (nsswitch.conf, krb5.conf,
# sssd/sssd.conf, hosts). stack_up mounts tmpfs over /run, /var/lib/sss,
# /var/log/sssd, /var/lib/krb5kdc and /var/tmp, brings loopback up and
# starts the three daemons; stack_down (installed as an EXIT trap) stops
# each by its PID. Needs: $STACK (an empty work directory), $STACK_LDIF
# (the entries), $STACK_SCHEMA (extra schema), $STACK_SLAPD_CONF (template).
# sssd.conf must name $STACK/keytabs/host.keytab. Logs stay in $STACK.

REALM=TEST.EXAMPLE
SUFFIX=dc=test,dc=example
SERVER=ipa.test.example
CLIENT=client.test.example
STACK_PIDS=()

stack_die() { echo "stack: $*" >&2; exit 90; }

# Waits up to 10 s for a command to succeed.
stack_wait() {
  local i
  for i in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

stack_down() {
  local pid i
  for pid in "${STACK_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || continue
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  STACK_PIDS=()
}

# Stops sssd alone (its PID was recorded by stack_up).
stack_stop_sssd() {
  local i
  kill "$SSSD_PID" 2>/dev/null || return 0
  for i in $(seq 200); do kill -0 "$SSSD_PID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$SSSD_PID" 2>/dev/null || true
}

stack_up() {
  trap stack_down EXIT
  ip link set lo up || stack_die "no loopback"
  local d
  # /var/tmp: the Kerberos replay caches of slapd and sssd.
  for d in /run /var/lib/sss /var/log/sssd /var/lib/krb5kdc /var/tmp; do
    mkdir -p "$d" 2>/dev/null; mount -t tmpfs -o mode=0755 tmpfs "$d" || stack_die "tmpfs on $d"
  done
  mkdir -p /var/lib/sss/db /var/lib/sss/pipes/private /var/lib/sss/mc \
    /var/lib/sss/pubconf/krb5.include.d /var/lib/sss/gpo_cache /var/lib/sss/keytabs
  chmod 0700 /var/lib/sss/pipes/private /var/lib/sss/db
  mkdir -p "$STACK/kdc" "$STACK/ldap/db" "$STACK/keytabs"
  # KDC: a realm with the LDAP server's and the client host's principals.
  export KRB5_KDC_PROFILE="$STACK/kdc/kdc.conf"
  cat >"$KRB5_KDC_PROFILE" <<KDC
[kdcdefaults]
 kdc_ports = 88
 kdc_tcp_ports = 88
[realms]
 $REALM = {
  database_name = $STACK/kdc/principal
  key_stash_file = $STACK/kdc/stash
  acl_file = $STACK/kdc/kadm5.acl
  max_life = 10h
 }
[logging]
 kdc = FILE:$STACK/kdc/kdc.log
KDC
  : >"$STACK/kdc/kadm5.acl"
  kdb5_util create -s -r "$REALM" -P "stack-master-key" >"$STACK/kdc/create.log" 2>&1 \
    || stack_die "kdb5_util: $(cat "$STACK/kdc/create.log")"
  kadmin.local -r "$REALM" -q "addprinc -randkey ldap/$SERVER" >/dev/null 2>&1 || stack_die "addprinc ldap"
  kadmin.local -r "$REALM" -q "addprinc -randkey host/$CLIENT" >/dev/null 2>&1 || stack_die "addprinc host"
  kadmin.local -r "$REALM" -q "ktadd -k $STACK/keytabs/ldap.keytab ldap/$SERVER" >/dev/null 2>&1 || stack_die "ktadd ldap"
  kadmin.local -r "$REALM" -q "ktadd -k $STACK/keytabs/host.keytab host/$CLIENT" >/dev/null 2>&1 || stack_die "ktadd host"
  chmod 0600 "$STACK/keytabs/"*.keytab
  krb5kdc -n -P "$STACK/kdc/kdc.pid" &
  KDC_PID=$!
  STACK_PIDS+=("$KDC_PID")
  # slapd: the entries loaded offline, then served on ldap:// and ldapi://.
  sed "s|@DB@|$STACK/ldap/db|g; s|@SCHEMA@|$STACK_SCHEMA|g; s|@SUFFIX@|$SUFFIX|g; s|@SERVER@|$SERVER|g; s|@REALM@|$REALM|g" \
    "$STACK_SLAPD_CONF" >"$STACK/ldap/slapd.conf"
  slapadd -q -f "$STACK/ldap/slapd.conf" -l "$STACK_LDIF" >"$STACK/ldap/slapadd.log" 2>&1 \
    || stack_die "slapadd: $(cat "$STACK/ldap/slapadd.log")"
  KRB5_KTNAME="FILE:$STACK/keytabs/ldap.keytab" slapd -d stats -f "$STACK/ldap/slapd.conf" \
    -h "ldap://127.0.0.1/ ldapi://$(printf %s "$STACK/ldap/ldapi" | sed 's|/|%2F|g')" \
    >"$STACK/ldap/slapd.log" 2>&1 &
  SLAPD_PID=$!
  STACK_PIDS+=("$SLAPD_PID")
  stack_wait kill -0 "$KDC_PID" || stack_die "krb5kdc exited"
  stack_wait ldapsearch -x -H ldap://127.0.0.1/ -b "" -s base || stack_die "slapd: $(cat "$STACK/ldap/slapd.log")"
  # sssd in the foreground, so $! is its PID.
  sssd -i --logger=stderr >"$STACK/sssd.log" 2>&1 &
  SSSD_PID=$!
  STACK_PIDS=("$SSSD_PID" "${STACK_PIDS[@]}")
  stack_wait test -S /var/lib/sss/pipes/nss || stack_die "sssd: $(cat "$STACK/sssd.log")"
}
