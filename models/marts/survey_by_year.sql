-- Weighted survey shares per municipality (area_code = '') and area, year and item.
-- n = unweighted respondents answering the item; n_eff = Kish effective sample size (sum w)^2 / sum w^2;
-- the 95 % interval is Wilson's score interval on n_eff (so 0 of 100 is 0 %–3,7 %, never 0 %–0 %), and se is the
-- unclipped standard error √(p(1−p)/n_eff) for change tests. Shares are rounded to 12 decimals so that a rebuild
-- gives identical bytes (parallel float sums differ in the last bits).
with answers as (
    select * from intermediate.int_survey_answers
),

grouped as (
    select
        municipality_code,
        case when grouping(area_code) = 1 then '' else coalesce(area_code, 'okänt') end as area_code,
        year,
        item,
        count(*) as n,
        sum(weight) as weight_sum,
        sum(weight * weight) as weight_sq_sum,
        sum(case when answer then weight else 0 end) as weight_yes
    from answers
    group by grouping sets ((municipality_code, area_code, year, item), (municipality_code, year, item))
),

shares as (
    select
        *,
        weight_yes / weight_sum as share,
        weight_sum * weight_sum / weight_sq_sum as n_eff
    from grouped
)

select
    municipality_code,
    area_code,
    year,
    item,
    n::bigint as n,
    round(n_eff, 1) as n_eff,
    round(share, 12) as share,
    round(sqrt(share * (1 - share) / n_eff), 12) as se,
    round((share + z2 / (2 * n_eff) - 1.959964 * sqrt(share * (1 - share) / n_eff + z2 / (4 * n_eff * n_eff)))
          / (1 + z2 / n_eff), 12) as ci_low,
    round((share + z2 / (2 * n_eff) + 1.959964 * sqrt(share * (1 - share) / n_eff + z2 / (4 * n_eff * n_eff)))
          / (1 + z2 / n_eff), 12) as ci_high
from shares, (select 1.959964 * 1.959964 as z2)
order by all
