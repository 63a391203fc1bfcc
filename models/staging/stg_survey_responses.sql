-- Safety-survey respondents with design weights (wide: one column per item).
-- @materialized: view
with source as (
    select * from raw.survey_responses
),

renamed as (
    select
        respondent_id,
        survey_year as year,
        municipality_code,
        nullif(area_code, '') as area_code,
        sex,
        age_band,
        weight,
        unsafe_evening,
        worried_crime,
        problem_littering,
        problem_drugs,
        trust_police,
        _sha256 as source_sha256
    from source
)

select * from renamed
