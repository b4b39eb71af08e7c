#!/usr/bin/env bash
# The main job end to end, on the local stack from `make up`: load the sample shop database
# (internal/sampledata, generated here, so a clone needs nothing else), back it up through a
# real Kubernetes Job, restore it through a Job as shop_restored, compare checksums, and
# install the nightly CronJob. Backups are signed: a key pair made with `backupctl keygen` at the
# start, the private key only in the demo Secret, the public key given to list, verify and restore.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . .stack/env; set +a
export MYSQL_PWD=$BACKUP_DB_PASSWORD
# The Jobs run on the local node: its image, and the servers where its pods reach them (the pod
# bridge's gateway, which this host reaches too; plain transport on the machine's own bridge).
export BACKUP_IMAGE=$BACKUP_K8S_DUMPER_IMAGE BACKUP_DB_HOST=$BACKUP_K8S_POD_DB_HOST
export BACKUP_S3_ENDPOINT=$BACKUP_K8S_POD_S3_ENDPOINT BACKUP_INSECURE_TRANSPORT=true
NS=backupctl-demo
K=$BACKUP_K8S_KUBECTL
DB=shop RESTORED=shop_restored
export BACKUP_NAMESPACE=$NS BACKUP_S3_PREFIX=demo
sql() { mariadb --no-defaults -h "$BACKUP_DB_HOST" -P "$BACKUP_DB_PORT" -u "$BACKUP_DB_USER" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Generate the sample shop database and load it into the source MariaDB (127.0.0.1:$BACKUP_DB_PORT)"
sql -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS $RESTORED"
go run ./internal/sampledata/cmd/sampledata -seed 1 -database "$DB" | sql --default-character-set=utf8mb4
sql -N -e "SELECT COUNT(*), 'tables' FROM information_schema.TABLES WHERE TABLE_SCHEMA='$DB' AND TABLE_TYPE='BASE TABLE'"

step "2. A signing key pair (backupctl keygen), then the Namespace, ServiceAccount, Role and the Secret (values from .stack/env and the key file, never in args)"
KEYDIR=$(mktemp -d)
trap 'rm -rf "$KEYDIR"' EXIT
PUB=$(bin/backupctl keygen --out "$KEYDIR/signing.key" -q)
echo "public key (for --verify-key): $PUB"
for f in deploy/00-namespace.yaml deploy/10-serviceaccount.yaml deploy/20-rbac.yaml; do
	sed "s/name: backupctl$/name: $NS/; s/namespace: backupctl$/namespace: $NS/" "$f" | $K apply -f - >/dev/null
done
$K -n "$NS" create secret generic backupctl \
	--from-literal=BACKUP_DB_PASSWORD="$BACKUP_DB_PASSWORD" \
	--from-literal=AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
	--from-literal=AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
	--from-file=BACKUP_SIGNING_KEY="$KEYDIR/signing.key" \
	--dry-run=client -o yaml | $K apply -f - >/dev/null
$K -n "$NS" get serviceaccount,secret,role -o name

step "3. backupctl backup now -d $DB   (a Job runs the dumper; it verifies the object before writing the manifest)"
bin/backupctl backup now -d "$DB" -o json -q | tee .stack/demo-backup.json
ID=$(python3 -c 'import json; print(json.load(open(".stack/demo-backup.json"))["id"])')

step "4. backupctl list and verify $ID, checking the signature with the public key"
bin/backupctl list --verify-key "$PUB"
bin/backupctl verify "$ID" --verify-key "$PUB" -q >/dev/null && echo "verify $ID: ok, signed by the demo's key"

step "5. backupctl restore $ID --into $RESTORED   (through a restore Job, which refuses a backup the key did not sign)"
bin/backupctl restore "$ID" --into "$RESTORED" --verify-key "$PUB" -q

step "6. Compare every table: CHECKSUM TABLE and row counts, $DB vs $RESTORED"
tables=$(sql -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$DB' AND TABLE_TYPE='BASE TABLE' ORDER BY 1")
bad=0
printf '%-16s %12s %12s %8s\n' table checksum restored rows
for t in $tables; do
	a=$(sql -N -e "CHECKSUM TABLE $DB.\`$t\` EXTENDED" | cut -f2)
	b=$(sql -N -e "CHECKSUM TABLE $RESTORED.\`$t\` EXTENDED" | cut -f2)
	n=$(sql -N -e "SELECT COUNT(*) FROM $RESTORED.\`$t\`")
	mark=""; [ "$a" = "$b" ] || { mark="  MISMATCH"; bad=1; }
	printf '%-16s %12s %12s %8s%s\n' "$t" "$a" "$b" "$n" "$mark"
done
for kind in VIEWS ROUTINES TRIGGERS EVENTS; do
	col=TABLE_SCHEMA; [ $kind = ROUTINES ] && col=ROUTINE_SCHEMA; [ $kind = TRIGGERS ] && col=TRIGGER_SCHEMA
	[ $kind = EVENTS ] && col=EVENT_SCHEMA
	a=$(sql -N -e "SELECT COUNT(*) FROM information_schema.$kind WHERE $col='$DB'")
	b=$(sql -N -e "SELECT COUNT(*) FROM information_schema.$kind WHERE $col='$RESTORED'")
	printf '%-16s %12s %12s\n' "$(echo $kind | tr A-Z a-z)" "$a" "$b"
	[ "$a" = "$b" ] || bad=1
done

step "7. backupctl schedule set   (the nightly CronJob), then schedule show"
bin/backupctl schedule set -d "$DB" --keep-daily 7 -q >/dev/null
bin/backupctl schedule show

if [ $bad -ne 0 ]; then
	printf '\nDEMO FAILED: the restored database differs from the original\n'
	exit 1
fi
printf '\nDEMO OK: backup %s was taken and verified by a Job, restored by a Job, and every table matches.\n' "$ID"
