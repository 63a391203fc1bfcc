-- Brå's municipal indicators in long form, each value classified by what it measures.
-- @materialized: view
with source as (
    select * from raw.bra_indicators
),

renamed as (
    select
        geography_code,
        geography_name,
        year,
        source,
        variable,
        unit,
        value,
        _sha256 as source_sha256
    from source
)

select
    *,
    case when source = 'Anmälda brott' then 'anmalda_brott' else 'ntu' end as indicator_kind,
    case
        when unit = 'Antal' then 'count'
        when unit like 'Antal per 100 000%' then 'per_100k'
        when unit like 'KI (95 %) undre%' then 'ci_low'
        when unit like 'KI (95 %) övre%' then 'ci_high'
        when variable like 'Antal svarande%' then 'n'
        else 'share'
    end as measure,
    case when length(geography_code) = 4 then 'kommun' when geography_code = '00' then 'riket' else 'län' end
        as geography_level
from renamed
