# man-fields.awk: the fields pgx-events(7)'s parts document, for test/docs.bats.
# For each record section (.Ss under RECORD TYPES, or any .Ss of a part in
# man/events/; "log (pgx-docker)" counts as "log") writes
#   item SECTION FIELD   for each field a first-level .It names
#   word SECTION WORD    for each word a .Li or .Cm macro names anywhere
#   section SECTION      once per section heading
# The head's "Fields every record has" counts as a section too.
function section_name(s) { sub(/ *\(.*\)$/, "", s); return s }
FNR == 1 { sec = ""; depth = 0; records = FILENAME !~ /pgx-events\.head$/ }
/^\.Sh / { sec = ""; depth = 0; records = records || $0 ~ /^\.Sh RECORD TYPES/; next }
/^\.Ss / {
	depth = 0
	sec = substr($0, 5)
	if (!records && sec != "Fields every record has") sec = ""
	sec = section_name(sec)
	if (sec != "") print "section\t" sec
	next
}
sec == "" { next }
/^\.Bl/ { depth++ }
/^\.El/ { depth-- }
/^\./ {
	line = $0
	sub(/ Pq .*$/, "", line)
	n = split(line, w, /[ \t]+/)
	named = 0
	for (i = 1; i <= n; i++) {
		if (w[i] ~ /^\.?(Li|Cm)$/) { named = 1; continue }
		if (w[i] ~ /^[A-Z][a-z]$/ || w[i] ~ /^\./) { named = 0; continue }
		if (!named || w[i] !~ /^[a-z_][a-z0-9_]*$/) continue
		print "word\t" sec "\t" w[i]
		if (depth == 1 && w[1] == ".It") print "item\t" sec "\t" w[i]
	}
}
