module Placeholder
let x = 1
