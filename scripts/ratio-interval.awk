# ratio-interval.awk: the median of per-run ratios and a 95% confidence interval for it that assumes
# nothing of their distribution: the order statistics x(c) and x(n+1-c), c the largest with
# P(Binomial(n, 1/2) < c) <= 2.5% (6 runs or more). Input: one line per run, "A B" (the ratio is
# A / B); -v name=... labels the output line. Used by bench-cpu-ab.sh and bench-load.sh.
NF >= 2 && $2 > 0 { x[++k] = $1 / $2 }
END {
  if (k == 0) { printf "%-20s no runs\n", name; exit }
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
  m = (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
  c = 0; cum = 0; pr = 0.5 ^ k
  for (i = 0; i < k; i++) { if (cum + pr > 0.025) break; cum += pr; c = i + 1; pr = pr * (k - i) / (i + 1) }
  s = ""; for (i = 1; i <= k; i++) s = s sprintf("%s%.3f", (i > 1 ? " " : ""), x[i])
  if (c >= 1) printf "%-20s %.3f  95%% [%.3f, %.3f]  [%s]\n", name, m, x[c], x[k + 1 - c], s
  else printf "%-20s %.3f  (too few runs for an interval)  [%s]\n", name, m, s
}
