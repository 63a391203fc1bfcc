-- EST events per municipality, quarter, weekday (1 = Monday, ISO) and hour: when problems occur.
-- @partitioned: municipality_code, year, quarter
select
    municipality_code,
    year,
    quarter,
    quarter_seq,
    weekday,
    hour,
    count(*)::bigint as events
from staging.stg_est_events
group by all
order by all
