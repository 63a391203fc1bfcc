-- Rates per municipality (area_code = '') and area and complete year:
--   reported crime (codes that count as crimes) and EST events per 100 000 inhabitants,
--   concern reports per 1 000 children 0–17 (municipality only).
-- Denominator: the year's mean population = (31 Dec previous year + 31 Dec this year) / 2, as Brå computes its
-- rates; with only one of them, that one (population_basis says which). Years not yet covered by population data use
-- the latest published year (population_basis 'senast kända <år>'), and carried-forward population years are not final.
-- Small areas (mean population below ref.policy small_area_population) also get a 3-year average rate:
-- sum of counts over the year and the two before / sum of their denominators, only when all three are complete
-- years with a population (years_in_3y says how many there are).
-- Concern reports: only reports about children 0–17 (ref.age_bands, scheme concern, max_age <= 17) are counted.
-- A year is complete when the feed has data in all 12 months of it; partial years get no rate.
with policy as (
    select try_cast(value as integer) as small_area_population from ref.policy where key = 'small_area_population'
),

pop as (
    select * from marts.population_by_year
),

years as (
    select municipality_code, area_code, year, sum(crimes) as n, 'anmalda_brott' as measure
    from marts.crime_by_quarter where counts_as_crime and area_code <> '' group by all  -- '' there = unplaced
    union all
    select municipality_code, '', year, sum(crimes), 'anmalda_brott'
    from marts.crime_by_quarter where counts_as_crime group by municipality_code, year
    union all
    select municipality_code, area_code, year, sum(events), 'est' from marts.est_by_quarter where area_code <> '' group by all
    union all
    select municipality_code, '', year, sum(events), 'est' from marts.est_by_quarter group by municipality_code, year
    union all
    -- the numerator matches the denominator (children 0–17): reports about 18–20-year-olds are left out
    select municipality_code, '', year, sum(reports), 'orosanmalningar' from marts.concern_by_quarter
    where age_band in (select age_band from ref.age_bands where scheme = 'concern' and try_cast(max_age as integer) <= 17)
    group by all
),

coverage as (
    select municipality_code, year, 'anmalda_brott' as measure, count(distinct month) as months
    from staging.stg_crime_reports group by all
    union all
    select municipality_code, year, 'est', count(distinct month) from staging.stg_est_events group by all
    union all
    select municipality_code, year, 'orosanmalningar', count(distinct month) from staging.stg_concern_reports group by all
),

denominators as (
    select
        y.municipality_code, y.area_code, y.year, y.measure, y.n,
        coalesce(cov.months, 0) = 12 as complete_year,
        cur.population as pop_end, prev.population as pop_start,
        cur.population_0_17 as kids_end, prev.population_0_17 as kids_start,
        coalesce(cur.is_final, false) and coalesce(prev.is_final, true) as population_final,
        latest.year as latest_year, latest.population as latest_pop, latest.population_0_17 as latest_kids
    from years as y
    left join coverage as cov on cov.municipality_code = y.municipality_code and cov.year = y.year
        and cov.measure = y.measure
    left join pop as cur on cur.municipality_code = y.municipality_code and cur.area_code = y.area_code
        and cur.year = y.year
    left join pop as prev on prev.municipality_code = y.municipality_code and prev.area_code = y.area_code
        and prev.year = y.year - 1
    left join (
        select municipality_code, area_code, max(year) as year, arg_max(population, year) as population,
               arg_max(population_0_17, year) as population_0_17
        from pop group by all
    ) as latest on latest.municipality_code = y.municipality_code and latest.area_code = y.area_code
),

rated as (
    select
        *,
        case when measure = 'orosanmalningar' then
                 coalesce((kids_start + kids_end) / 2.0, kids_end::double, kids_start::double,
                          case when latest_year < year then latest_kids::double end)
             else coalesce((pop_start + pop_end) / 2.0, pop_end::double, pop_start::double,
                           case when latest_year < year then latest_pop::double end)
        end as denominator,
        case when pop_start is not null and pop_end is not null then 'medelfolkmängd'
             when pop_end is not null then 'folkmängd 31 dec'
             when pop_start is not null then 'folkmängd 31 dec året innan'
             when latest_year < year then 'senast kända ' || latest_year
        end as population_basis,
        case when measure = 'orosanmalningar' then 1000 else 100000 end as per
    from denominators
)

select
    r.municipality_code,
    r.area_code,
    r.year,
    r.measure,
    r.n::bigint as count,
    r.complete_year,
    r.denominator,
    r.per,
    r.population_basis,
    r.population_final and r.population_basis in ('medelfolkmängd', 'folkmängd 31 dec') as population_final,
    case when r.complete_year and r.denominator > 0 then r.n / r.denominator * r.per end as rate,
    r.denominator < p.small_area_population as small_area,
    case when r.complete_year and r.denominator < p.small_area_population
              and count(case when r.complete_year and r.denominator > 0 then 1 end) over w = 3 then
        sum(case when r.complete_year then r.n end) over w / sum(case when r.complete_year then r.denominator end) over w * r.per
    end as rate_3y,
    -- how many complete years the 3-year average would rest on (a page says so when fewer than three)
    count(case when r.complete_year and r.denominator > 0 then 1 end) over w as years_in_3y
from rated as r
cross join policy as p
window w as (partition by r.municipality_code, r.area_code, r.measure order by r.year range between 2 preceding and current row)
order by all
