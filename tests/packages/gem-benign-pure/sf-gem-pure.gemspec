Gem::Specification.new do |s|
  s.name = "sf-gem-pure"
  s.version = "1.1.0"
  s.summary = "scanfarm test gem: plain Ruby"
  s.authors = ["scanfarm tests"]
  s.license = "MIT"
  s.files = ["lib/sf_gem_pure.rb"]
  s.require_paths = ["lib"]
end
