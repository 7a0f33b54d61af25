Gem::Specification.new do |s|
  s.name = "sf-gem-callhome"
  s.version = "1.0.0"
  s.summary = "scanfarm test gem: an extconf.rb that calls home"
  s.authors = ["scanfarm tests"]
  s.license = "MIT"
  s.files = ["lib/sf_gem_callhome.rb", "ext/sf_gem_callhome/extconf.rb"]
  s.files << "armed" if File.exist?(File.join(__dir__, "armed"))
  s.extensions = ["ext/sf_gem_callhome/extconf.rb"]
  s.require_paths = ["lib"]
end
