# shellcheck shell=bash
# Sourced by scripts/bench.sh: backupctl's backup and restore encrypted with age (--encrypt-to),
# measured in the same rounds as the plaintext ones, and their ratios to them (issue 15's target:
# wall <= 1.1x, peak RSS within 10 MiB). Uses bench.sh's measure, check_restore and friends.

AGE_ID=""
AGE_KEY=$BENCH/age.key
AGE_DUMP="backupctl backup --encrypt-to"
AGE_RESTORE="backupctl restore (encrypted)"

# age_keys makes the run's age identity once; its recipient goes to the backups.
age_keys() {
	[ -n "${AGE_PUB:-}" ] && return
	rm -f "$AGE_KEY"
	AGE_PUB=$("$BACKUPCTL" keygen --age --out "$AGE_KEY" -q)
}

dump_age() {
	local r=$1 out id total
	age_keys
	measure dump "$AGE_DUMP" "$r" "$BACKUPCTL" backup now --local -o json -q \
		--database "$DB" --db-socket "$SRC_SOCK" --encrypt-to "$AGE_PUB"
	[ "$RC" -eq 0 ] || return 0
	out=$BENCH/$(slug "$AGE_DUMP").stdout
	id=$(jq -r .id "$out")
	note_size "$AGE_DUMP" "$(jq -r .size "$out")"
	total=$(awk -F'\t' '{r+=$2} END {print r}' "$BENCH/source.tsv")
	if [ "$(jq -r '.verified and .encrypted' "$out")" != true ] || [ "$(jq -r .rows "$out")" != "$total" ] ||
		[ "$(cut -f1,2 "$BENCH/source.tsv" | sed "s/^/$DB./")" != "$(BACKUP_AGE_IDENTITY=$(cat "$AGE_KEY") "$BENCH/benchtool" rows "$id" | sort)" ]; then
		loud "$AGE_DUMP round $r ($id): not verified, not encrypted, or its rows differ from the source's: $(tr -d '\n' <"$out")"
		mark_bad dump "$AGE_DUMP" "$r"
	fi
	if [ -n "$AGE_ID" ]; then "$BENCH/benchtool" delete "$AGE_ID"; fi
	AGE_ID=$id
}

restore_age() {
	local r=$1
	[ -n "$AGE_ID" ] || { printf 'restore\t%s\t%s\tskipped\t\t\t\t\n' "$AGE_RESTORE" "$r" >>"$RUNS"; return; }
	clean_target
	measure restore "$AGE_RESTORE" "$r" "$BACKUPCTL" restore "$AGE_ID" --local -o json -q \
		--db-socket "$DST_SOCK" --age-identity-file "$AGE_KEY"
	[ "$RC" -ne 0 ] || check_restore "$AGE_RESTORE" "$r"
}

# age_report appends the encrypted runs' ratios to the plaintext ones to the results.
age_report() {
	local phase plain enc
	{
		echo
		echo "Encrypted (age) against plaintext, same rounds: median wall ratio, peak RSS difference (target ≤ 1.10×, ≤ 10 MiB):"
		echo
		for phase in dump restore; do
			plain="backupctl backup" enc=$AGE_DUMP
			[ $phase = restore ] && plain="backupctl restore" enc=$AGE_RESTORE
			awk -F'\t' -v p="$phase" -v a="$plain" -v b="$enc" '
				$1==p && $4=="ok" && ($2==a || $2==b) {w[$2]=w[$2] " " $5; if ($7>m[$2]) m[$2]=$7}
				function med(s,   v, n, i, j, t) { n=split(s, v, " "); for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (v[j]+0<v[i]+0) {t=v[i]; v[i]=v[j]; v[j]=t}
					return n%2 ? v[(n+1)/2] : (v[n/2]+v[n/2+1])/2 }
				END { if (w[a]=="" || w[b]=="") {print "- " p ": no successful runs to compare"; exit}
					printf "- %s: %s %.2fs, %s %.2fs: %.2f×; peak RSS %.0f vs %.0f MiB (%+.0f)\n", p, b, med(w[b]), a, med(w[a]), med(w[b])/med(w[a]), m[b]/1024, m[a]/1024, (m[b]-m[a])/1024 }' "$RUNS"
		done
	} | tee -a "$OUT"
	[ "$KEEP" = 1 ] || { [ -z "$AGE_ID" ] || "$BENCH/benchtool" delete "$AGE_ID" || true; rm -f "$AGE_KEY"; }
}
