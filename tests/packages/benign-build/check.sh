# Runs the helper program the build just produced, then checks the output.
./build/helper && echo "benign-build: helper ran"
node -e "require('./build/out.js'); console.log('benign-build: out.js loads')"
