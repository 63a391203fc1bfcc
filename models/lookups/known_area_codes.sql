-- Area codes known from the areas feed (quality checks: every area code in a feed must be known).
select area_code from staging.stg_areas
