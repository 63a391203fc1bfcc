-- Concern reports (orosanmälningar) as aggregates per month; counted as reports, not children.
-- @materialized: view
with source as (
    select * from raw.concern_reports
),

renamed as (
    select
        municipality_code,
        month as month_start,
        age_band,
        sex,
        reason,
        reporter_type,
        reports,
        _sha256 as source_sha256
    from source
)

select
    *,
    year(month_start) as year,
    quarter(month_start) as quarter,
    year(month_start) * 4 + quarter(month_start) - 1 as quarter_seq,  -- consecutive quarters, consecutive numbers (sources/quarter.py Quarter.seq)
    month(month_start) as month
from renamed
