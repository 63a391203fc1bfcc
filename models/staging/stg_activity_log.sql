-- What the parties did: one row per activity occasion.
-- @materialized: view
with source as (
    select * from raw.activity_log
),

renamed as (
    select
        municipality_code,
        date,
        activity_id,
        activity,
        count as occasions,
        nullif(party, '') as party,
        nullif(note, '') as note,
        _sha256 as source_sha256
    from source
)

select
    *,
    year(date) as year,
    quarter(date) as quarter,
    year(date) * 4 + quarter(date) - 1 as quarter_seq,  -- consecutive quarters, consecutive numbers (sources/quarter.py Quarter.seq)
    (month(date) + 3) // 4 as tertial
from renamed
