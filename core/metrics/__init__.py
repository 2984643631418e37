"""Weekly KPIs and utilization: definitions (`definitions`, where every metric is spelled out),
the daily rollup kept in step with appointment changes (`models`, `rollup`), available minutes
(`capacity`), the reads (`sources`, `kpis`, `utilization`, `drill`) and commands."""
