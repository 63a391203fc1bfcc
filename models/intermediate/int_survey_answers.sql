-- Survey answers in long form: one row per respondent and answered item (no answer = not counted).
-- @materialized: view
with responses as (
    select * from staging.stg_survey_responses
),

long as (
    unpivot responses
    on unsafe_evening, worried_crime, problem_littering, problem_drugs, trust_police
    into name item value answer
)

select
    respondent_id,
    year,
    municipality_code,
    area_code,
    sex,
    weight,
    item,
    answer
from long
where answer is not null
