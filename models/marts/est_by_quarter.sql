-- EST events per municipality, area, quarter, category and subcategory.
-- @partitioned: municipality_code, year, quarter
select
    municipality_code,
    coalesce(area_code, '') as area_code,
    year,
    quarter,
    quarter_seq,
    category,
    coalesce(subcategory, '') as subcategory,
    count(*)::bigint as events
from staging.stg_est_events
group by all
order by all
