-- Indicators per agreement, priority area, indicator, area and period (data/agreements/indicators/*.yaml).
-- Filter semantics: values within a dimension are alternatives (OR); all dimensions of an indicator must match (AND).
-- Counts (crime, EST, concern reports, activity occasions) per quarter; survey shares per year (quarter = NULL).
-- area_code '' = the whole municipality (incl. crimes and events that cannot be placed); other rows: one area.
with indicator_dims as (
    select agreement_id, municipality_code, priority_area_id, indicator_id, kind,
           count(distinct dimension) as dimensions
    from plan.indicator_map
    group by all
),

crime_codes_matched as (
    -- crime codes and how many of an indicator's dimensions each satisfies
    select m.agreement_id, m.indicator_id, c.crime_code, count(distinct m.dimension) as matched
    from plan.indicator_map as m
    inner join ref.crime_codes as c
        on (m.dimension = 'level2' and c.level2 = m.value)
        or (m.dimension = 'level3' and c.level3 = m.value)
        or (m.dimension = 'crime_code' and c.crime_code = m.value)
        or (m.dimension = 'question_area' and c.question_area = m.value)
    where m.kind = 'crime'
    group by m.agreement_id, m.indicator_id, c.crime_code
),

crime_facts as (
    select d.agreement_id, d.municipality_code, d.priority_area_id, d.indicator_id,
           f.area_code, f.year, f.quarter, f.quarter_seq, f.crimes
    from indicator_dims as d
    inner join crime_codes_matched as cm
        on cm.agreement_id = d.agreement_id and cm.indicator_id = d.indicator_id and cm.matched = d.dimensions
    inner join intermediate.int_crime_by_code_quarter as f
        on f.crime_code = cm.crime_code and f.municipality_code = d.municipality_code
),

crime as (
    -- the whole municipality (placed and unplaced crimes), then each area
    select agreement_id, municipality_code, priority_area_id, indicator_id, '' as area_code, year, quarter, quarter_seq,
           sum(crimes) as value
    from crime_facts group by all
    union all
    select agreement_id, municipality_code, priority_area_id, indicator_id, area_code, year, quarter, quarter_seq,
           sum(crimes) as value
    from crime_facts where area_code <> '' group by all
),

est_match as (
    select d.agreement_id, d.municipality_code, d.priority_area_id, d.indicator_id, e.area_code, e.year, e.quarter, e.quarter_seq,
           e.category, e.subcategory, e.events
    from indicator_dims as d
    inner join marts.est_by_quarter as e on e.municipality_code = d.municipality_code
    inner join plan.indicator_map as m
        on m.agreement_id = d.agreement_id and m.indicator_id = d.indicator_id
        and ((m.dimension = 'category' and e.category = m.value) or (m.dimension = 'subcategory' and e.subcategory = m.value))
    where d.kind = 'est'
    group by all
    having count(distinct m.dimension) = any_value(d.dimensions)
),

est as (
    select agreement_id, municipality_code, priority_area_id, indicator_id, '' as area_code, year, quarter, quarter_seq,
           sum(events) as value
    from est_match group by all
    union all
    select agreement_id, municipality_code, priority_area_id, indicator_id, area_code, year, quarter, quarter_seq,
           sum(events) as value
    from est_match where area_code <> '' group by all
),

concern_match as (
    select d.agreement_id, d.municipality_code, d.priority_area_id, d.indicator_id, c.year, c.quarter, c.quarter_seq,
           c.age_band, c.reason, c.reports
    from indicator_dims as d
    inner join marts.concern_by_quarter as c on c.municipality_code = d.municipality_code
    inner join plan.indicator_map as m
        on m.agreement_id = d.agreement_id and m.indicator_id = d.indicator_id
        and ((m.dimension = 'reason' and c.reason = m.value) or (m.dimension = 'age_band' and c.age_band = m.value))
    where d.kind = 'concern'
    group by all
    having count(distinct m.dimension) = any_value(d.dimensions)
),

concern as (
    select agreement_id, municipality_code, priority_area_id, indicator_id, '' as area_code, year, quarter, quarter_seq,
           sum(reports) as value
    from concern_match
    group by all
),

activity as (
    select d.agreement_id, d.municipality_code, d.priority_area_id, d.indicator_id, '' as area_code,
           l.year, l.quarter, l.quarter_seq, sum(l.occasions) as value
    from indicator_dims as d
    inner join plan.indicator_map as m
        on m.agreement_id = d.agreement_id and m.indicator_id = d.indicator_id and m.dimension = 'activity'
    inner join staging.stg_activity_log as l
        on l.municipality_code = d.municipality_code and l.activity_id = m.value
    group by all
),

survey as (
    select d.agreement_id, d.municipality_code, d.priority_area_id, d.indicator_id, s.area_code,
           s.year, null::integer as quarter, null::integer as quarter_seq, s.share as value
    from indicator_dims as d
    inner join plan.indicator_map as m
        on m.agreement_id = d.agreement_id and m.indicator_id = d.indicator_id and m.dimension = 'item'
    inner join marts.survey_by_year as s on s.municipality_code = d.municipality_code and s.item = m.value
),

combined as (
    select * from crime
    union all select * from est
    union all select * from concern
    union all select * from activity
    union all select * from survey
),

labels as (
    select agreement_id, indicator_id, any_value(label) as label, any_value(kind) as kind,
           any_value(sub_goal_id) as sub_goal_id, any_value(rationale) as rationale,
           any_value(higher_is_worse) as higher_is_worse, min(ordinal) as ordinal
    from plan.indicator_map
    group by all
)

select
    c.agreement_id,
    c.municipality_code,
    c.priority_area_id,
    l.sub_goal_id,
    c.indicator_id,
    l.ordinal,
    l.label,
    l.kind,
    l.higher_is_worse,
    c.area_code,
    c.year,
    c.quarter,
    c.quarter_seq,
    c.value::double as value
from combined as c
inner join labels as l on l.agreement_id = c.agreement_id and l.indicator_id = c.indicator_id
order by all
