-- Population on 31 December per area, year and age band.
-- @materialized: view
with source as (
    select * from raw.population
),

renamed as (
    select
        municipality_code,
        area_code,
        year,
        age_band,
        population,
        coalesce(is_final, true) as is_final,
        _sha256 as source_sha256
    from source
)

select * from renamed
