-- Whether Brå's official counts for a municipality and year are preliminary or final, as Brå's own file says
-- (bra_stats carries the flag; the indicator file does not). Pages read their status caption from here.
select
    municipality_code,
    year,
    bool_or(is_preliminary) as preliminary,
    count(*) as rows
from staging.stg_bra_stats
where municipality_code is not null
group by all
order by all
