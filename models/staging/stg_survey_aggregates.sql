-- Published survey shares (percent) with confidence limits and n, per area and year.
-- @materialized: view
with source as (
    select * from raw.survey_aggregates
),

renamed as (
    select
        municipality_code,
        nullif(area_name, '') as area_name,
        year,
        item,
        share_percent,
        ci_low_percent,
        ci_high_percent,
        n,
        nullif(survey, '') as survey,
        _sha256 as source_sha256
    from source
)

select * from renamed
