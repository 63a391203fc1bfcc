-- Police event-level crime reports, one row per crime; periods by registration date (Brå's basis).
-- @materialized: view
with source as (
    select * from raw.crime_reports
),

renamed as (
    select
        report_id,
        crime_seq,
        crime_code,
        registered_date,
        offence_date,
        municipality_code,
        nullif(area_code, '') as area_code,
        nullif(area_name, '') as area_name,
        crime_count,
        _sha256 as source_sha256,
        _row as source_row
    from source
)

select
    *,
    year(registered_date) as year,
    quarter(registered_date) as quarter,
    year(registered_date) * 4 + quarter(registered_date) - 1 as quarter_seq,  -- consecutive quarters, consecutive numbers (sources/quarter.py Quarter.seq)
    month(registered_date) as month
from renamed
