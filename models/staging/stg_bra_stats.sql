-- Brå's official counts of reported crime per municipality (or district), item and period.
-- @materialized: view
with source as (
    select * from raw.bra_stats
),

renamed as (
    select
        municipality_code,
        nullif(area_name, '') as area_name,
        crime_item,
        nullif(item_id, '') as item_id,
        item_level,
        parent_item,
        period_type,
        period_start,
        coalesce(is_preliminary, false) as is_preliminary,
        crimes,
        per_100k,
        status,
        _sha256 as source_sha256
    from source
)

select
    *,
    year(period_start) as year,
    quarter(period_start) as quarter,
    year(period_start) * 4 + quarter(period_start) - 1 as quarter_seq  -- consecutive quarters, consecutive numbers (sources/quarter.py Quarter.seq)
from renamed
