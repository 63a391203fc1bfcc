-- EST events (place-based reports); ISO week, weekday and hour for the weekly EST meeting.
-- @materialized: view
with source as (
    select * from raw.est_events
),

renamed as (
    select
        event_id,
        occurred_at,
        municipality_code,
        nullif(area_code, '') as area_code,
        place,
        lat,
        lon,
        category,
        subcategory,
        reporter_org,
        description,
        status,
        _sha256 as source_sha256,
        _row as source_row
    from source
)

select
    *,
    year(occurred_at) as year,
    quarter(occurred_at) as quarter,
    year(occurred_at) * 4 + quarter(occurred_at) - 1 as quarter_seq,  -- consecutive quarters, consecutive numbers (sources/quarter.py Quarter.seq)
    month(occurred_at) as month,
    isoyear(occurred_at) as iso_year,
    week(occurred_at) as iso_week,
    isodow(occurred_at) as weekday,
    hour(occurred_at) as hour
from renamed
