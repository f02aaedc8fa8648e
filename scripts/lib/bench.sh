# Shared by scripts/bench-*: `median_ms N CMD...` runs CMD N times and prints
# the median wall time in milliseconds (output discarded).
median_ms() {
    local n=$1
    shift
    local times=()
    for ((i = 0; i < n; i++)); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=($(((end - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
